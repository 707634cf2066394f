// Hand-written types of the `legonet` package (checked against src/index.js by hand and by the
// browser tests' use of every verb).

/** What a page has: anything `createImageBitmap` accepts, plus File/Blob. */
export type ImageLike =
  | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageData
  | HTMLVideoElement | VideoFrame | Blob | File;

export interface LegoNetOptions {
  /** URL of `efficientnet-lite0.safetensors` (fetched once, then kept in the Cache API). Required. */
  encoderUrl: string | URL;
  /** Where the encoder runs. `'auto'` (default) measures a warm-up encode on WebGPU and CPU and
   *  keeps the faster; it never picks a software (fallback) WebGPU adapter. */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** Number of adapters n (default 32; fewer suit a few dozen photos, see the README). */
  adapters?: number;
  /** Adapters each example activates, k (default 3). */
  activated?: number;
  /** Model seed (default 0). */
  seed?: number;
  /** Run the engine in a module Worker (default true). `false` runs it on the calling thread. */
  worker?: boolean;
  /** URL of `legonet_bg.wasm` if your bundler moves it (default: next to the package's wasm glue). */
  wasmUrl?: string | URL;
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
export interface TrainReport { adaptersTrained: number; samplesReplayed: number; paramsTrained: number; ms: number }
export interface ForgetReport {
  forgotten: number;
  retrainedAdapters: number[];
  samplesReplayed: number;
  paramsRetrained: number;
  ms: number;
}
export interface VerifyReport { ok: boolean; adaptersChecked: number; mismatches: number[]; ms: number }
export interface ClassProbability { label: string; probability: number }
export interface CompareRow {
  method: 'legonet' | 'retrain' | 'fixsisa' | 'knn';
  nTrain: number; nTest: number;
  /** On the held-out fold (null when it is empty). */
  accuracy: number | null;
  trainMs: number; forgetMs: number;
  adaptersRetrained: number; samplesReplayed: number; paramsRetrained: number;
}
export interface MemoryReport {
  wasmBytes: number; samples: number; encodingBytes: number; adapterParams: number; keyBytes: number; snapshotBytes: number;
  storage: { usage?: number; quota?: number } | null;
}

export declare class LegoNet {
  private constructor();
  static create(options: LegoNetOptions): Promise<LegoNet>;
  static import(bytes: Uint8Array | ArrayBuffer, options: LegoNetOptions): Promise<LegoNet>;
  static load(name: string, options: LegoNetOptions): Promise<LegoNet>;

  addExample(image: ImageLike, label: string, options?: { id?: string }): Promise<string>;
  addExamples(items: { image: ImageLike; label: string; id?: string }[],
              options?: { onProgress?: (p: Progress) => void; signal?: AbortSignal }): Promise<string[]>;
  train(options?: { onProgress?: (p: Progress) => void; signal?: AbortSignal }): Promise<TrainReport>;
  predict(image: ImageLike): Promise<ClassProbability[]>;
  forget(ids: string | string[]): Promise<ForgetReport>;
  addClass(label: string): Promise<void>;
  removeClass(label: string): Promise<ForgetReport>;
  verify(): Promise<VerifyReport>;
  compare(options?: { forget?: string | string[] }): Promise<CompareRow[]>;
  export(): Promise<Uint8Array>;
  save(name: string): Promise<void>;
  memory(): Promise<MemoryReport>;
  savedModels(): Promise<{ name: string; bytes: number; savedAt: number }[]>;
  deleteSaved(name: string): Promise<void>;
  clearStorage(): Promise<void>;

  labels(): string[];
  examples(): Example[];
  readonly pendingAdapters: number;
  readonly backend: BackendInfo;
  readonly encoderId: string;
  dispose(): void;
  [Symbol.dispose](): void;
}
export default LegoNet;

export declare const DEFAULTS: Readonly<Required<Omit<LegoNetOptions, 'encoderUrl' | 'wasmUrl'>>>;

/** Stable error codes: INVALID_IMAGE, INVALID_INPUT, INVALID_CONFIG, INVALID_ENCODING, UNKNOWN_ID,
 *  DUPLICATE_ID, UNKNOWN_CLASS, DUPLICATE_CLASS, EMPTY_MODEL, CORRUPT_SNAPSHOT, SNAPSHOT_VERSION,
 *  ENCODER_MISMATCH, ABORTED, STORAGE, QUOTA_EXCEEDED, NOT_FOUND, BACKEND, DISPOSED, INTERNAL. */
export declare class LegoNetError extends Error { readonly code: string }
export declare class InvalidImageError extends LegoNetError { readonly code: 'INVALID_IMAGE' }
export declare class SampleIdError extends LegoNetError { readonly code: 'UNKNOWN_ID' | 'DUPLICATE_ID' }
export declare class SnapshotError extends LegoNetError {
  readonly code: 'CORRUPT_SNAPSHOT' | 'SNAPSHOT_VERSION' | 'ENCODER_MISMATCH';
}
export declare class AbortError extends LegoNetError { readonly code: 'ABORTED' }
export declare class StorageError extends LegoNetError { readonly code: 'STORAGE' | 'QUOTA_EXCEEDED' | 'NOT_FOUND' }
export declare class DisposedError extends LegoNetError { readonly code: 'DISPOSED' }
