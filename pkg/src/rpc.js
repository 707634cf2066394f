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
  #answered = false; // the Worker has answered a call: it started

  constructor(port) {
    this.#port = port;
    port.onmessage = (e) => { this.#answered = true; this.#receive(e.data); };
    // Before any answer the Worker's script did not load (a 404, a bundler that dropped it, a
    // CSP): the documented BACKEND of an engine Worker that cannot start. After, it crashed.
    port.onerror = (e) => (this.#answered
      ? this.#failAll('INTERNAL', `the engine Worker crashed: ${e.message || e.type || e}`)
      : this.#failAll('BACKEND', `the engine Worker could not start: ${e.message || e.type || e} (legonet's src/worker.js and the modules and wasm/ beside it must be served with the page)`));
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
