// Hand-written types of the `legonet` package. tests/types/consumer.ts uses every export, verb,
// option, report field and error code under `tsc --strict` (`npm run typecheck`), and
// tests/types.test.mjs checks the exports, verbs and codes against src/ and the Rust core.

/** What a page has: anything `createImageBitmap` accepts, plus File/Blob. */
export type ImageLike =
  | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageData
  | HTMLVideoElement | VideoFrame | Blob | File;

export interface LegoNetOptions {
  /** URL of the weights, `efficientnet-lite0-f16.safetensors` or the f32
   *  `efficientnet-lite0.safetensors` (fetched once, then kept in the Cache API). Left out,
   *  the weights of the optional peer package `@legonet/efficientnet-lite0` are used (its
   *  `weightsUrl`, next to the package, or the bundler's asset); given, it overrides them. Neither
   *  available: `LegoNetError` `INVALID_CONFIG`. */
  encoderUrl?: string | URL;
  /** Where the encoder runs. `'auto'` (default) measures a warm-up encode on WebGPU and CPU and
   *  keeps the faster; it never picks a software (fallback) WebGPU adapter. */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** Expert option: a fixed number of adapters n. Left out (the default), n and k follow the
   *  number of stored examples (one adapter up to a few hundred photos, more beyond; see the
   *  README), so no one has to guess them. Giving either fixes both (k defaults to min(3, n),
   *  n to 32). */
  adapters?: number;
  /** Expert option: a fixed number of adapters each example activates, k. */
  activated?: number;
  /** Model seed (default 0). */
  seed?: number;
  /** Run the engine in a module Worker (default true). `false` runs it on the calling thread. */
  worker?: boolean;
  /** URL of `legonet_bg.wasm` if your bundler moves it (default: next to the package's wasm glue). */
  wasmUrl?: string | URL;
  /** Lanes `addExamples` encodes photos on, the engine's Worker included: each extra one is a
   *  module Worker with its own wasm instance and copy of the weights (tens of MB; `memory()`
   *  reports each), used only to encode — the model stays in the engine, and ids, encodings and
   *  the model are bit for bit those of one lane. Needs no cross-origin isolation. Default: one
   *  per logical core, at most 4, fewer where `navigator.deviceMemory` is small; 1 encodes in
   *  the engine alone. Integer 1..16; on WebGPU always 1 (the GPU encodes). */
  encoderWorkers?: number;
}

export interface BackendInfo {
  kind: 'webgpu' | 'cpu';
  /** Encoder backend: `'wgpu'` (burn on WebGPU) or `'cpu'` (legonet's fused CPU kernels). */
  name: string;
  /** The WebGPU adapter seen (null when none). */
  adapter: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean } | null;
  /** Why this backend was chosen (measured timings for `'auto'`). */
  reason: string;
  /** wgpu's description of the device, when WebGPU runs. */
  device?: string;
}

export interface Example { id: string; label: string; adapters: number[] }
export interface Progress { phase: 'encode' | 'train'; done: number; total: number }
export interface TrainReport {
  adaptersTrained: number; samplesReplayed: number; paramsTrained: number;
  /** The example count crossed a capacity level: keys re-dealt, every adapter retrained. */
  restructured: boolean;
  ms: number;
  /** The clock's step in ms (browsers coarsen `performance.now()`: 0.1 ms in Chromium, 1 ms in
   *  Firefox without cross-origin isolation): `ms` is a multiple of it, and 0 means "under it". */
  msResolution: number;
}
export interface ForgetReport {
  forgotten: number;
  /** The adapters the forgotten examples activated, retrained (or cleared) at once; adapters
   *  pending from earlier adds stay pending until `train()`. All of them when `restructured`. */
  retrainedAdapters: number[];
  samplesReplayed: number;
  paramsRetrained: number;
  /** The forget crossed a capacity level: every adapter was retrained (and is counted). */
  restructured: boolean;
  ms: number;
  /** The clock's step in ms (browsers coarsen `performance.now()`: 0.1 ms in Chromium, 1 ms in
   *  Firefox without cross-origin isolation): `ms` is a multiple of it, and 0 means "under it". */
  msResolution: number;
}
/** The model's current structure: n adapters, k activated per example. */
export interface Structure { adapters: number; activated: number }
export interface VerifyReport {
  ok: boolean; adaptersChecked: number; mismatches: number[]; ms: number;
  /** As in `ForgetReport`. */
  msResolution: number;
}
/** A label and the ensemble's score for it in [0, 1] (the voting adapters' scores averaged: ridge
 *  estimates of the label's probability, clamped), highest first. */
export interface ClassScore { label: string; score: number }
export interface CompareRow {
  method: 'legonet' | 'retrain' | 'fixsisa' | 'knn';
  nTrain: number; nTest: number;
  /** On the held-out fold (null when it is empty). */
  accuracy: number | null;
  trainMs: number; forgetMs: number;
  adaptersRetrained: number; samplesReplayed: number; paramsRetrained: number;
  /** The step of the clock that timed `trainMs` and `forgetMs` (as in `ForgetReport`). */
  msResolution: number;
}
export interface MemoryReport {
  wasmBytes: number; samples: number; encodingBytes: number; adapterParams: number; keyBytes: number; snapshotBytes: number;
  /** Wasm memory of each started extra encoder Worker (`encoderWorkers` − 1 of them once started). */
  encoderWorkerBytes: number[];
  storage: { usage?: number; quota?: number } | null;
}

export declare class LegoNet {
  private constructor();
  static create(options?: LegoNetOptions): Promise<LegoNet>;
  static import(bytes: Uint8Array | ArrayBuffer, options?: LegoNetOptions): Promise<LegoNet>;
  static load(name: string, options?: LegoNetOptions): Promise<LegoNet>;

  addExample(image: ImageLike, label: string, options?: { id?: string }): Promise<string>;
  addExamples(items: { image: ImageLike; label: string; id?: string }[],
              options?: { onProgress?: (p: Progress) => void; signal?: AbortSignal }): Promise<string[]>;
  train(options?: { onProgress?: (p: Progress) => void; signal?: AbortSignal }): Promise<TrainReport>;
  predict(image: ImageLike): Promise<ClassScore[]>;
  forget(ids: string | string[]): Promise<ForgetReport>;
  addClass(label: string): Promise<void>;
  removeClass(label: string): Promise<ForgetReport>;
  verify(): Promise<VerifyReport>;
  compare(options?: { forget?: string | string[] }): Promise<CompareRow[]>;
  export(): Promise<Uint8Array>;
  /** Saves under `name` (this origin's private file system, crash-safe, overwritten in place so
   *  forgotten examples leave the disk); later changes keep it in sync. Throws
   *  `StorageError` `STALE_MODEL` when another tab has saved `name` since this instance loaded or
   *  saved it (so a stale tab cannot write a forgotten photo back): load it again first. */
  save(name: string): Promise<void>;
  memory(): Promise<MemoryReport>;
  savedModels(): Promise<{ name: string; bytes: number; savedAt: number }[]>;
  deleteSaved(name: string): Promise<void>;
  clearStorage(): Promise<void>;

  labels(): string[];
  examples(): Example[];
  readonly pendingAdapters: number;
  /** n and k as trained (they follow the example count unless fixed by the options). */
  readonly structure: Structure;
  readonly backend: BackendInfo;
  readonly encoderId: string;
  /** Encoding lanes in use: `encoderWorkers` as asked or defaulted, 1 on WebGPU. */
  readonly encoderWorkers: number;
  dispose(): void;
  [Symbol.dispose](): void;
}
export default LegoNet;

export declare const DEFAULTS: Readonly<Required<Omit<LegoNetOptions, 'encoderUrl' | 'wasmUrl' | 'adapters' | 'activated' | 'encoderWorkers'>>>;

/** Every `code` a LegoNetError carries. The Rust core's codes keep their names (its `Error::code`);
 *  the package adds its own, from `ABORTED` on. A node test checks this list against both. */
export type ErrorCode =
  | 'INVALID_WEIGHTS'  // the encoder weight file is not the expected safetensors
  | 'INVALID_IMAGE'    // empty, undecodable, too small or too large
  | 'INVALID_INPUT'    // an argument of the wrong shape or kind
  | 'INVALID_CONFIG'   // an option out of range (adapters, activated, backend)
  | 'INVALID_ENCODING' // an encoding of the wrong length or not finite
  | 'UNKNOWN_ID' | 'DUPLICATE_ID'
  | 'UNKNOWN_CLASS' | 'DUPLICATE_CLASS'
  | 'EMPTY_MODEL'      // predict with no trained adapter to vote
  | 'NOT_TRAINED'      // verify while adapters wait for train()
  | 'CORRUPT_SNAPSHOT' | 'SNAPSHOT_VERSION' | 'ENCODER_MISMATCH'
  | 'BACKEND'          // the encoder's backend failed (device start, kernel, readback)
  | 'ABORTED'          // through an AbortSignal; the model is as before
  | 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' | 'STALE_MODEL'
  | 'NOT_INITIALISED'  // the engine was called before its init
  | 'DISPOSED'
  | 'INTERNAL';        // a bug or a wasm trap

export declare class LegoNetError extends Error {
  constructor(code: ErrorCode, message: string, options?: ErrorOptions);
  readonly code: ErrorCode;
}
export declare class InvalidImageError extends LegoNetError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'INVALID_IMAGE';
}
export declare class SampleIdError extends LegoNetError {
  constructor(code: 'UNKNOWN_ID' | 'DUPLICATE_ID', message: string, options?: ErrorOptions);
  readonly code: 'UNKNOWN_ID' | 'DUPLICATE_ID';
}
export declare class SnapshotError extends LegoNetError {
  constructor(code: 'CORRUPT_SNAPSHOT' | 'SNAPSHOT_VERSION' | 'ENCODER_MISMATCH', message: string, options?: ErrorOptions);
  readonly code: 'CORRUPT_SNAPSHOT' | 'SNAPSHOT_VERSION' | 'ENCODER_MISMATCH';
}
export declare class AbortError extends LegoNetError {
  constructor(message?: string, options?: ErrorOptions);
  readonly code: 'ABORTED';
}
export declare class StorageError extends LegoNetError {
  constructor(code: 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' | 'STALE_MODEL', message: string, options?: ErrorOptions);
  readonly code: 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' | 'STALE_MODEL';
}
export declare class DisposedError extends LegoNetError {
  constructor();
  readonly code: 'DISPOSED';
}
