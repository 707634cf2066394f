// Errors of the legonet package: every failure is an `Error` subclass with a stable `code`
// (never a bare string or a wasm trap). Codes from the Rust core keep their names.

/** Base class: `err.code` is stable and machine-readable; `err.message` is for people. */
export class LegoNetError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'LegoNetError';
    this.code = code;
  }
}

/** The image is empty, not decodable, too small or too large (`INVALID_IMAGE`). */
export class InvalidImageError extends LegoNetError {
  constructor(message, options) { super('INVALID_IMAGE', message, options); this.name = 'InvalidImageError'; }
}

/** An id the model does not hold (`UNKNOWN_ID`), or a duplicate one (`DUPLICATE_ID`). */
export class SampleIdError extends LegoNetError {
  constructor(code, message, options) { super(code, message, options); this.name = 'SampleIdError'; }
}

/** Snapshot bytes that are truncated, corrupt, of another version or another encoder. */
export class SnapshotError extends LegoNetError {
  constructor(code, message, options) { super(code, message, options); this.name = 'SnapshotError'; }
}

/** Something given as a deletion receipt that is not one (`INVALID_RECEIPT`). */
export class ReceiptError extends LegoNetError {
  constructor(message, options) { super('INVALID_RECEIPT', message, options); this.name = 'ReceiptError'; }
}

/** The operation was aborted through its `AbortSignal` (`ABORTED`); the model is as before. */
export class AbortError extends LegoNetError {
  constructor(message = 'the operation was aborted', options) { super('ABORTED', message, options); this.name = 'AbortError'; }
}

/** Origin Private File System / Cache API failures: `STORAGE`, `QUOTA_EXCEEDED`, `NOT_FOUND`, and `STALE_MODEL`
 *  (another tab saved this name since this one loaded or saved it). */
export class StorageError extends LegoNetError {
  constructor(code, message, options) { super(code, message, options); this.name = 'StorageError'; }
}

/** The instance was disposed (`DISPOSED`). */
export class DisposedError extends LegoNetError {
  constructor() { super('DISPOSED', 'this LegoNet instance was disposed'); this.name = 'DisposedError'; }
}

const BY_CODE = {
  INVALID_IMAGE: (c, m) => new InvalidImageError(m),
  UNKNOWN_ID: (c, m) => new SampleIdError(c, m),
  DUPLICATE_ID: (c, m) => new SampleIdError(c, m),
  CORRUPT_SNAPSHOT: (c, m) => new SnapshotError(c, m),
  SNAPSHOT_VERSION: (c, m) => new SnapshotError(c, m),
  ENCODER_MISMATCH: (c, m) => new SnapshotError(c, m),
  INVALID_RECEIPT: (c, m) => new ReceiptError(m),
  ABORTED: (c, m) => new AbortError(m),
  STORAGE: (c, m) => new StorageError(c, m),
  QUOTA_EXCEEDED: (c, m) => new StorageError(c, m),
  NOT_FOUND: (c, m) => new StorageError(c, m),
  STALE_MODEL: (c, m) => new StorageError(c, m),
  DISPOSED: () => new DisposedError(),
};

/** Rebuilds the right subclass from `{ code, message }` (as sent by the worker). */
export function errorFromCode(code, message) {
  const make = BY_CODE[code];
  return make ? make(code, message) : new LegoNetError(code ?? 'INTERNAL', message ?? 'unknown error');
}

/** Plain `{ code, message }` of any thrown value, for sending across the worker boundary; with
 *  `details` ({ report, state }) when a forget changed the model before its save failed. */
export function errorToWire(e) {
  if (e && typeof e.code === 'string') return e.details ? { code: e.code, message: e.message, details: e.details } : { code: e.code, message: e.message };
  if (e instanceof WebAssembly.RuntimeError) return { code: 'INTERNAL', message: `wasm trap: ${e.message}` };
  if (e && e.name === 'QuotaExceededError') return { code: 'QUOTA_EXCEEDED', message: e.message };
  return { code: 'INTERNAL', message: String(e?.message ?? e) };
}
