// The small typed RPC between the main-thread facade and the engine's Worker.
//
// main → worker: { id, method, args }            (args: structured-clonable; bytes transferred)
//                { abort: id }                     (abort the call `id`; only long calls listen)
// worker → main: { id, ok: true, value }
//                { id, ok: false, error: { code, message } }
//                { id, progress: { phase, done, total } }
//
// Methods (args → value) are listed in ENGINE_METHODS; the worker implements each one.

/** @typedef {'init'|'addExamples'|'train'|'predict'|'forget'|'removeClass'|'addClass'|'verify'|'export'|'import'|'save'|'load'|'memory'|'listSaved'|'deleteSaved'|'clearStorage'|'compare'} Method */
export const ENGINE_METHODS = Object.freeze([
  'init', 'addExamples', 'train', 'predict', 'forget', 'removeClass', 'addClass', 'verify',
  'export', 'import', 'save', 'load', 'memory', 'listSaved', 'deleteSaved', 'clearStorage', 'compare',
]);

import { errorFromCode, DisposedError } from './errors.js';

/** The engine Worker's name (WorkerOptions.name): worker.js serves on its global scope only in
 *  a Worker of this name, so that importing it elsewhere (`worker: false` inside an app's own
 *  Worker) leaves that Worker's messages alone. */
export const ENGINE_WORKER = 'legonet-engine';

/** Where a rejected error carries the engine's state after a change whose save failed. */
export const ENGINE_STATE = Symbol('legonet.engineState');

/** The code of an argument that cannot be posted, by method (else INVALID_INPUT). */
const UNSENDABLE = { addExamples: 'INVALID_IMAGE', predict: 'INVALID_IMAGE', audit: 'INVALID_IMAGE', checkReceipts: 'INVALID_RECEIPT' };

/** Client end: `call(method, args, { transfer, onProgress, signal })` → Promise<value>. */
export class RpcClient {
  #port;
  #next = 1;
  #pending = new Map();
  #closed = false;

  constructor(port) {
    this.#port = port;
    port.onmessage = (e) => this.#receive(e.data);
    port.onerror = (e) => this.#failAll('INTERNAL', `the engine worker failed to start or crashed: ${e.message || e.type || e} (is pkg/wasm built? run ./dev setup)`);
    port.onmessageerror = () => this.#failAll('INTERNAL', 'worker message could not be decoded');
  }

  #receive(msg) {
    const p = this.#pending.get(msg.id);
    if (!p) return;
    if (msg.progress) { p.onProgress?.(msg.progress); return; }
    this.#pending.delete(msg.id);
    p.cleanup();
    if (msg.ok) { p.resolve(msg.value); return; }
    const err = errorFromCode(msg.error?.code, msg.error?.message);
    if (msg.error?.details) {
      err.report = msg.error.details.report;
      // The engine's state after the change, for the facade's mirror only.
      Object.defineProperty(err, ENGINE_STATE, { value: msg.error.details.state });
    }
    p.reject(err);
  }

  #failAll(code, message) {
    for (const p of this.#pending.values()) { p.cleanup(); p.reject(errorFromCode(code, message)); }
    this.#pending.clear();
  }

  call(method, args = {}, { transfer = [], onProgress, signal } = {}) {
    if (this.#closed) return Promise.reject(new DisposedError());
    if (signal?.aborted) return Promise.reject(errorFromCode('ABORTED', 'aborted before it started'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.#port.postMessage({ abort: id });
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(id, { resolve, reject, onProgress, cleanup });
      try {
        this.#port.postMessage({ id, method, args }, transfer);
      } catch (e) { // an argument that cannot be cloned (a closed ImageBitmap, a function)
        this.#pending.delete(id);
        cleanup();
        reject(errorFromCode(UNSENDABLE[method] ?? 'INVALID_INPUT', `${method}: an argument cannot be sent to the engine (${e?.message ?? e})`));
      }
    });
  }

  close() {
    this.#closed = true;
    this.#failAll('DISPOSED', 'this LegoNet instance was disposed');
  }
}
