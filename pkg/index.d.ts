// Hand-written types of the `legonet` package. tests/types/consumer.ts uses every export, verb,
// option, report field and error code under `tsc --strict` (`npm run typecheck`), and
// tests/types.test.mjs checks the exports, verbs and codes against src/ and the Rust core.
// The two libs below are what the declarations use (`Symbol.dispose`, `ErrorOptions`), so an app
// compiles them whatever its own `lib` (tests/types/tsconfig.json lists only ES2020 and DOM).
/// <reference lib="esnext.disposable" />
/// <reference lib="es2022.error" />

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
  /** Expert option: a fixed number of adapters each example activates, k (1 to min(n, 8)). */
  activated?: number;
  /** Expert option: the most examples one ridge solve takes (default 300, at least 16; 0: no
   *  cap). An adapter holding more is trained as the mean of heads on shards of its examples
   *  (by a hash of the id), which bounds every forget's cost however crowded one adapter gets. */
  memberCap?: number;
  /** Model seed (default 0). */
  seed?: number;
  /** Run the engine in a module Worker (default true). `false` runs it on the calling thread;
   *  there saves replace the slot files rather than overwrite them in place (no synchronous file
   *  handle off a Worker), so a forgotten photo's old bytes stay in the disk's free space. */
  worker?: boolean;
  /** URL of `legonet_bg.wasm`, the CPU wasm, if your bundler moves it (default: next to the
   *  package's wasm glue). */
  wasmUrl?: string | URL;
  /** URL of `legonet_webgpu_bg.wasm`, the WebGPU wasm, if your bundler moves it (default: next to
   *  its glue). Fetched only when WebGPU may run: `backend: 'webgpu'`, or `'auto'` with a real
   *  (non-fallback) adapter. */
  webgpuWasmUrl?: string | URL;
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
  /** The adapters the forgotten examples activated, retrained (or cleared) at once — with any
   *  examples added to them since the last `train()`; other pending adapters stay pending. All
   *  of them when `restructured`. */
  retrainedAdapters: number[];
  samplesReplayed: number;
  paramsRetrained: number;
  /** The forget crossed a capacity level: every adapter was retrained (and is counted). */
  restructured: boolean;
  ms: number;
  /** The clock's step in ms (browsers coarsen `performance.now()`: 0.1 ms in Chromium, 1 ms in
   *  Firefox without cross-origin isolation): `ms` is a multiple of it, and 0 means "under it". */
  msResolution: number;
  /** The forget's deletion receipt: hand it to the person whose photos were forgotten. */
  receipt: ForgetReceipt;
}
/** The configuration a receipt names (the model's after the forget). */
export interface ReceiptConfig {
  adapters: number; activated: number;
  /** n and k fixed by the options, rather than following the example count. */
  fixed: boolean;
  /** The capacity levels as [from examples, n, k] (empty when fixed). */
  capacity: [number, number, number][];
  /** Decimal (JSON numbers cannot hold every u64). */
  seed: string;
  head: 'ridge' | 'softmax';
  ridgeLambda: number; epochs: number; learningRate: number; batchSize: number;
  /** Most examples one ridge solve takes (a crowded adapter is hash-sharded); 0 = no cap. */
  memberCap: number;
}
/** One adapter a forget retrained: hashes (hex SHA-256) of its member set before and after and of
 *  its weights after (null where it did not exist, or has no member left). */
export interface AdapterChange {
  adapter: number;
  membersBefore: string | null; membersAfter: string | null; weightsAfter: string | null;
}
/** A deletion receipt (version 1): compact, canonical (its hash is over fixed fields, not this
 *  JSON), chained to the model's previous receipt. It names the model before and after, and
 *  commits to each forgotten example as SHA-256(salt, id, encoding hash) without revealing either;
 *  the salt is random per forget and is in the receipt, so anyone can check that a model holds
 *  none of the committed examples (`legonet verify MODEL --receipts FILE`, `checkReceipts`). */
export interface ForgetReceipt {
  version: 1;
  /** 1 for the model's first forget, then one more per forget. */
  sequence: number;
  /** Hash of the receipt before this one (null for the first). */
  previousReceipt: string | null;
  encoderId: string; keyHash: string;
  config: ReceiptConfig;
  modelBefore: string; modelAfter: string;
  salt: string;
  /** One commitment per forgotten example, sorted. */
  forgotten: string[];
  adapters: AdapterChange[];
}
/** What `checkReceipts` found: `failures` is empty when the receipts and the model agree. */
export interface ReceiptCheck {
  receipts: number; commitments: number; adaptersReplayed: number;
  failures: string[];
}
/** A stored example and its relative distance ‖x − s‖ / ‖x‖ to the audited photo. */
export interface AuditMatch { id: string; label: string; distance: number; adapters: number[] }
/** What `audit(image)` found. */
export interface PhotoAudit {
  /** Whether a stored example lies within `tolerance` of the photo. */
  held: boolean;
  /** Every stored example within `tolerance`, nearest first. */
  matches: AuditMatch[];
  /** The nearest stored example, matching or not (null when the model holds none). */
  nearest: AuditMatch | null;
  /** Relative distance under which an example counts as the photo (1e-3). */
  tolerance: number;
  /** Stored examples compared. */
  examples: number;
  /** Every adapter replayed: with `held: false`, no adapter was trained on the photo. */
  verify: VerifyReport;
  /** The model hash (what a deletion receipt's `modelAfter` names). */
  modelHash: string;
  /** Receipts this model has issued, and the last one's hash (null before the first forget). */
  receiptCount: number;
  lastReceipt: string | null;
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
  /** A model from `export()` bytes. Its configuration (`adapters`, `activated`, `memberCap`,
   *  `seed`) comes from the bytes; those options are ignored here. */
  static import(bytes: Uint8Array | ArrayBuffer, options?: LegoNetOptions): Promise<LegoNet>;
  static load(name: string, options?: LegoNetOptions): Promise<LegoNet>;

  /** Labels, ids and class names (here, in `addExamples`, `addClass`, `removeClass` and
   *  `forget`) are non-empty strings of at most 1,024 UTF-8 bytes, else `INVALID_INPUT` before
   *  any photo is decoded; an id left out is a random one. */
  addExample(image: ImageLike, label: string, options?: { id?: string }): Promise<string>;
  addExamples(items: { image: ImageLike; label: string; id?: string }[],
              options?: { onProgress?: (p: Progress) => void; signal?: AbortSignal }): Promise<string[]>;
  /** Trains the adapters whose members changed. Aborted through `signal`: `AbortError`, the model
   *  as before — unless the abort reaches the engine after its last step (then it resolves). */
  train(options?: { onProgress?: (p: Progress) => void; signal?: AbortSignal }): Promise<TrainReport>;
  /** Scores of the classes the consulted adapters were trained on, highest first (a class with
   *  no trained examples yet, such as a fresh `addClass`, gets none). */
  predict(image: ImageLike): Promise<ClassScore[]>;
  /** Forgets the examples; bound to a saved copy (`save`, `load`), rewrites it in the same call.
   *  Copies saved earlier under other names are the app's, like `export()`'s bytes: they keep
   *  what they held (`deleteSaved` them, or load each and forget there). Stale (see `save`):
   *  `StorageError` `STALE_MODEL`, nothing forgotten. An empty list: `INVALID_INPUT`. */
  forget(ids: string | string[]): Promise<ForgetReport>;
  addClass(label: string): Promise<void>;
  removeClass(label: string): Promise<ForgetReport>;
  verify(): Promise<VerifyReport>;
  /** Is this photo in the model? Encoded here, matched within `tolerance`, every adapter replayed.
   *  An image that cannot be decoded: `InvalidImageError`. */
  audit(image: ImageLike): Promise<PhotoAudit>;
  /** Checks receipts (oldest first; any tail of the model's chain) against this model. Something
   *  that is not a receipt: `ReceiptError` `INVALID_RECEIPT`. */
  checkReceipts(receipts: ForgetReceipt | ForgetReceipt[]): Promise<ReceiptCheck>;
  /** LegoNet, Retrain, FixSISA and KNN trained from scratch on this model's examples (a fifth
   *  held out, by a hash of each id), then each forgets `forget`; without `forget`, training and
   *  accuracy only (the forget fields are 0). The model itself is not changed. */
  compare(options?: { forget?: string | string[] }): Promise<CompareRow[]>;
  /** The whole model as bytes. Refused with `STALE_MODEL` when the saved copy this instance is
   *  bound to has changed since (it may hold a photo another tab forgot). */
  export(): Promise<Uint8Array>;
  /** Saves under `name` (this origin's private file system, crash-safe, overwritten in place so
   *  forgotten examples leave the disk) and binds the instance to it: later `forget`,
   *  `removeClass` and `train` calls rewrite it (`addExamples` and `addClass` wait for the next
   *  `train` or `save`). Throws `StorageError` `STALE_MODEL` when the copy this instance is bound
   *  to was saved or deleted by another tab since it loaded or saved it (so a stale tab cannot
   *  write a forgotten photo back, under any name), or when `name` itself is a copy this instance
   *  loaded or saved earlier and another tab has changed or deleted since: load it again first.
   *  `deleteSaved` and `clearStorage` do not make a stale instance current, for its bound copy
   *  or for such a name. A save that fails after writing one of
   *  the copy's two slot files still binds the instance to it (the `StorageError` says so), so
   *  later forgets reach it. A name that is not a non-empty, well-formed string of at most 100 UTF-8 bytes: `INVALID_INPUT`
   *  (also for `load` and `deleteSaved`). */
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

export declare const DEFAULTS: Readonly<Required<Omit<LegoNetOptions, 'encoderUrl' | 'wasmUrl' | 'webgpuWasmUrl' | 'adapters' | 'activated' | 'memberCap' | 'encoderWorkers'>>>;

/** Every `code` a LegoNetError carries. The Rust core's codes keep their names (its `Error::code`);
 *  the package adds its own, from `ABORTED` on. A node test checks this list against both. */
export type ErrorCode =
  | 'INVALID_WEIGHTS'  // the encoder weight file is not the expected safetensors
  | 'INVALID_IMAGE'    // empty, undecodable, too small or too large
  | 'INVALID_INPUT'    // an argument of the wrong shape or kind
  | 'INVALID_CONFIG'   // an option out of range or not a URL (adapters, activated, backend, encoderWorkers, encoderUrl, wasmUrl, …)
  | 'INVALID_ENCODING' // an encoding of the wrong length or not finite
  | 'UNKNOWN_ID' | 'DUPLICATE_ID'
  | 'UNKNOWN_CLASS' | 'DUPLICATE_CLASS'
  | 'EMPTY_MODEL'      // predict with no trained adapter to vote
  | 'NOT_TRAINED'      // verify while adapters wait for train()
  | 'CORRUPT_SNAPSHOT' | 'SNAPSHOT_VERSION' | 'ENCODER_MISMATCH'
  | 'INVALID_RECEIPT'  // a deletion receipt that is malformed or of another version
  | 'BACKEND'          // the encoder's backend failed (device start, kernel, readback), or the engine Worker cannot start
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
export declare class ReceiptError extends LegoNetError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'INVALID_RECEIPT';
}
export declare class AbortError extends LegoNetError {
  constructor(message?: string, options?: ErrorOptions);
  readonly code: 'ABORTED';
}
export declare class StorageError extends LegoNetError {
  constructor(code: 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' | 'STALE_MODEL', message: string, options?: ErrorOptions);
  readonly code: 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' | 'STALE_MODEL';
  /** Set when a `forget` or `removeClass` was done but the bound saved copy could not be
   *  rewritten (the disk, not staleness): the forget's report. The model and `examples()` reflect
   *  the forget; the next save (any bound change, or `save`) writes it. (A `train` whose save
   *  failed after one slot was written likewise keeps the trained model, which that slot holds.) */
  report?: ForgetReport;
}
export declare class DisposedError extends LegoNetError {
  constructor();
  readonly code: 'DISPOSED';
}
