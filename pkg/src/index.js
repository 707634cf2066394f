// legonet — personalise an image classifier on the user's device and forget any photo exactly.
// The public API. The engine (wasm: encoder + LegoNet) runs in a module Worker; this facade
// owns it, speaks to it with a small RPC, and mirrors its state for synchronous getters.

import { RpcClient, ENGINE_STATE, ENGINE_WORKER } from './rpc.js';
import { LegoNetError, DisposedError, errorFromCode } from './errors.js';
import { toTransferable } from './image.js';
import { checkModelName, checkName } from './names.js';

// The error classes only: errors.js's wire helpers are the RPC's, not the package's API.
export { LegoNetError, InvalidImageError, SampleIdError, SnapshotError, ReceiptError, AbortError, StorageError, DisposedError } from './errors.js';

/** Defaults of `LegoNet.create` (documented in index.d.ts). */
export const DEFAULTS = Object.freeze({
  backend: 'auto',
  seed: 0,
  worker: true,
});

/** The most encoding lanes `encoderWorkers` may ask for (each extra one is a wasm instance). */
const MAX_ENCODER_WORKERS = 16;

/** The weights of the optional peer package @legonet/efficientnet-lite0: its `weightsUrl` is
 *  `new URL(…, import.meta.url)` next to the file, which bundlers emit as an asset. Imported only
 *  when no `encoderUrl` is given, so apps that host the weights themselves need not install it. */
async function packagedWeightsUrl() {
  let cause;
  try {
    const { weightsUrl } = await import('@legonet/efficientnet-lite0');
    if (typeof weightsUrl === 'string' && weightsUrl) return weightsUrl;
    cause = new TypeError('@legonet/efficientnet-lite0 exports no weightsUrl');
  } catch (e) { cause = e; } // not installed, or not in the page's import map
  throw new LegoNetError('INVALID_CONFIG', 'no encoder weights: install @legonet/efficientnet-lite0 '
    + '(npm install @legonet/efficientnet-lite0; without a bundler, map it in the import map) '
    + 'or pass encoderUrl, the URL of efficientnet-lite0-f16.safetensors', { cause });
}

/** Starts the encoder Workers the engine Worker asks for (worker.js, `pageWorker`: starting
 *  them inside it can freeze it in Firefox) and connects each to it; returns a function that
 *  terminates them. */
function serveEncoderWorkers(engine) {
  const started = new Map();
  const stop = (id) => { started.get(id)?.terminate(); started.delete(id); };
  const lost = (id) => { stop(id); engine.postMessage({ encoderWorkerLost: id }); };
  engine.addEventListener('message', (e) => {
    const ask = e.data?.encoderWorker;
    if (!ask) return;
    if (ask.terminate) { stop(ask.id); return; }
    let w;
    try {
      w = new Worker(new URL('./encoder-worker.js', import.meta.url), { type: 'module', name: ask.name });
    } catch { // cannot start one here: the engine encodes without it
      lost(ask.id);
      return;
    }
    started.set(ask.id, w);
    w.onerror = (ev) => { ev.preventDefault?.(); lost(ask.id); };
    w.postMessage({ connect: ask.port }, [ask.port]);
  });
  return () => { for (const w of started.values()) w.terminate(); started.clear(); };
}

async function startEngine(useWorker) {
  if (useWorker && typeof Worker !== 'undefined') {
    let worker;
    try {
      // The name also tells worker.js that it is the engine Worker's entry script (see there).
      worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: ENGINE_WORKER });
    } catch (e) { // a SecurityError: the package is served from another origin than the page
      throw new LegoNetError('BACKEND', `the engine Worker cannot start here (${e?.name}: ${e?.message}); serve the package from the page's origin, or pass worker: false`, { cause: e });
    }
    const stopEncoders = serveEncoderWorkers(worker);
    return { client: new RpcClient(worker), terminate: () => { stopEncoders(); worker.terminate(); } };
  }
  const { serve } = await import('./worker.js');
  const { port1, port2 } = new MessageChannel();
  const stop = serve(port2);
  return { client: new RpcClient(port1), terminate: () => { port1.close(); port2.close(); stop(); } };
}

/** Whether the browser would post `value` to a Worker (a bitmap of a cross-origin image is not). */
function postable(value) {
  try {
    structuredClone(value)?.close?.();
    return true;
  } catch {
    return false;
  }
}

/** The engine's new state, or — when it left the examples out — ours less the removed ones. */
function mirror(old, next) {
  if (next.examples) return next;
  const { removed, ...rest } = next;
  const gone = new Set(removed);
  return { ...rest, examples: old.examples.filter((e) => !gone.has(e.id)) };
}

export class LegoNet {
  #client;
  #terminate;
  #state = { labels: [], examples: [], pendingAdapters: 0, adapters: 0, activated: 0 };
  #info;
  #disposed = false;

  constructor(key) {
    if (key !== LegoNet.#key) throw new TypeError('use LegoNet.create(), LegoNet.import() or LegoNet.load()');
  }
  static #key = Symbol('LegoNet');

  /** Creates an empty model. See `LegoNetOptions` in index.d.ts for every option and default. */
  static async create(options) {
    // An option given as `undefined` keeps its default, as if it were left out.
    const given = Object.entries(options ?? {}).filter(([, v]) => v !== undefined);
    const opts = { ...DEFAULTS, ...Object.fromEntries(given) };
    if (!['auto', 'webgpu', 'cpu'].includes(opts.backend)) {
      throw new LegoNetError('INVALID_CONFIG', `backend must be 'auto', 'webgpu' or 'cpu', not ${JSON.stringify(opts.backend)}`);
    }
    const lanes = opts.encoderWorkers;
    if (lanes !== undefined && !(Number.isInteger(lanes) && lanes >= 1 && lanes <= MAX_ENCODER_WORKERS)) {
      throw new LegoNetError('INVALID_CONFIG', `encoderWorkers must be an integer from 1 to ${MAX_ENCODER_WORKERS}, not ${JSON.stringify(lanes)}`);
    }
    const weights = opts.encoderUrl || await packagedWeightsUrl(); // encoderUrl overrides the package
    const absolute = (u, what) => {
      if (!u) return undefined;
      try { return new URL(u, globalThis.location?.href).href; } catch {
        throw new LegoNetError('INVALID_CONFIG', `${what} is not a URL: ${JSON.stringify(String(u))}`);
      }
    };
    const encoderUrl = absolute(weights, 'encoderUrl');
    const wasmUrl = absolute(opts.wasmUrl, 'wasmUrl');
    const webgpuWasmUrl = absolute(opts.webgpuWasmUrl, 'webgpuWasmUrl');
    const net = new LegoNet(LegoNet.#key);
    const { client, terminate } = await startEngine(opts.worker);
    net.#client = client;
    net.#terminate = terminate;
    try {
      const out = await client.call('init', {
        encoderUrl, wasmUrl, webgpuWasmUrl, backend: opts.backend, encoderWorkers: lanes,
        config: { adapters: opts.adapters, activated: opts.activated, memberCap: opts.memberCap, seed: opts.seed },
      });
      net.#info = { backend: out.backend, encoderId: out.encoderId, weightsFromCache: out.weightsFromCache, encoderWorkers: out.encoderWorkers };
      net.#state = out.state;
    } catch (e) {
      net.dispose();
      throw e;
    }
    return net;
  }

  /** Creates a model from `export()` bytes (options as in `create`; config comes from the bytes). */
  static async import(bytes, options) {
    if (!(bytes instanceof Uint8Array || bytes instanceof ArrayBuffer)) {
      throw new LegoNetError('INVALID_INPUT', `LegoNet.import expects the Uint8Array (or ArrayBuffer) that export() gave, not ${bytes?.constructor?.name ?? bytes}`);
    }
    let copy; // the caller keeps its bytes; this copy moves to the engine
    try {
      // new Uint8Array(typed array) always copies (a Buffer's slice() would be a view).
      copy = bytes instanceof ArrayBuffer ? new Uint8Array(bytes.slice(0)) : new Uint8Array(bytes);
    } catch {
      throw new LegoNetError('INVALID_INPUT', 'LegoNet.import: the bytes are detached (transferred elsewhere)');
    }
    const net = await LegoNet.create(options);
    try { await net.#call('import', { bytes: copy }, { transfer: [copy.buffer] }); } catch (e) { net.dispose(); throw e; }
    return net;
  }

  /** Creates a model from the copy saved under `name` by `save(name)` (this origin's OPFS). */
  static async load(name, options) {
    const checked = checkModelName(name);
    const net = await LegoNet.create(options);
    try { await net.#call('load', { name: checked }); } catch (e) { net.dispose(); throw e; }
    return net;
  }

  /** `#call` with the ImageBitmaps made for it: closed if the call fails (refused before they
   *  are transferred: disposed, already aborted, not postable; a no-op on one transferred), not
   *  left to the garbage collector. `explain(e)` may name the failure better first, while the
   *  bitmaps are still open. */
  async #send(method, args, transfer, extra, explain = (e) => e) {
    try {
      return await this.#call(method, args, { ...extra, transfer });
    } catch (e) {
      const err = explain(e);
      for (const b of transfer) b.close?.();
      throw err;
    }
  }

  async #call(method, args, extra) {
    if (this.#disposed) throw new DisposedError();
    let value;
    try {
      value = await this.#client.call(method, args, extra);
    } catch (e) {
      // A forget that changed the model before its save failed: mirror what the engine holds.
      if (e?.[ENGINE_STATE]) this.#state = mirror(this.#state, e[ENGINE_STATE]);
      throw e;
    }
    if (value && value.state) this.#state = mirror(this.#state, value.state);
    return value;
  }

  /** Encodes `image` (cached: never encoded again) and stores it under `label`; resolves to its id. */
  async addExample(image, label, options) {
    const [first] = await this.addExamples([{ image, label, id: options?.id }]);
    return first;
  }

  /** Adds many examples, all or nothing, encoded over `encoderWorkers` lanes (results in input
   *  order). `onProgress({ phase: 'encode', done, total })`. */
  async addExamples(items, options) {
    const { onProgress, signal } = options ?? {};
    if (!Array.isArray(items)) throw new LegoNetError('INVALID_INPUT', 'addExamples expects an array of { image, label }');
    const wire = [];
    const transfer = [];
    try {
      for (const [i, it] of items.entries()) {
        checkName(it?.label, `example ${i}: label`);
        if (it.id !== undefined && it.id !== null) checkName(it.id, `example ${i}: id (or left out for a random one)`);
        let t;
        try {
          t = await toTransferable(it.image);
        } catch (e) {
          throw e instanceof LegoNetError ? errorFromCode(e.code, `example ${i}: ${e.message}`) : e;
        }
        wire.push({ image: t.image, label: it.label, id: it.id ?? null });
        transfer.push(...t.transfer);
      }
    } catch (e) {
      for (const b of transfer) b.close?.(); // the bitmaps made for the items before the bad one
      throw e;
    }
    // An image the browser would not post (drawn from another origin without CORS): which one,
    // found only on failure (a test clone of a large bitmap costs tens of ms).
    const explain = (e) => {
      const i = e?.code === 'INVALID_IMAGE' && !/^example \d+:/.test(e.message) ? wire.findIndex((w) => !postable(w.image)) : -1;
      return i >= 0 ? errorFromCode('INVALID_IMAGE', `example ${i}: ${e.message}`) : e;
    };
    return (await this.#send('addExamples', { items: wire }, transfer, { onProgress, signal }, explain)).ids;
  }

  /** Trains every adapter whose members changed. `onProgress({ phase: 'train', done, total })`;
   *  aborting through `signal` rejects with `AbortError` and leaves the model as before (unless
   *  the abort reaches the engine after its last step: then the call resolves as done). */
  async train(options) {
    const { onProgress, signal } = options ?? {};
    return (await this.#call('train', {}, { onProgress, signal })).report;
  }

  /** Classifies `image`: `[{ label, score }]`, highest score first. */
  async predict(image) {
    const t = await toTransferable(image);
    return this.#send('predict', { image: t.image }, t.transfer);
  }

  /** Forgets examples exactly: their adapters are retrained from scratch without them. The
   *  report carries the forget's deletion receipt (`report.receipt`). */
  async forget(ids) {
    const list = Array.isArray(ids) ? ids : [ids];
    return (await this.#call('forget', { ids: list })).report;
  }

  /** Registers a class with no examples yet. */
  async addClass(label) { await this.#call('addClass', { label }); }

  /** Forgets every example of `label` and the class itself. */
  async removeClass(label) { return (await this.#call('removeClass', { label })).report; }

  /** Trains LegoNet, Retrain, FixSISA and KNN from scratch on the stored encodings (one
   *  held-out fold scores accuracy) and forgets `forget` under each; the model is untouched. */
  async compare(options) {
    const forget = options?.forget ?? [];
    return this.#call('compare', { forget: Array.isArray(forget) ? forget : [forget] });
  }

  /** Replays every adapter from its members and seed and compares bitwise. */
  async verify() { return this.#call('verify'); }

  /** Is `image` in this model? Encodes it with the model's encoder, compares it with every stored
   *  example within a tolerance (encodings made on another backend differ in the last bits),
   *  and replays every adapter: `{ held, matches, nearest, tolerance, examples, verify, modelHash, … }`. */
  async audit(image) {
    const t = await toTransferable(image);
    return this.#send('audit', { image: t.image }, t.transfer);
  }

  /** Checks deletion receipts (one, or an array oldest first) against this model, offline:
   *  `{ receipts, commitments, adaptersReplayed, failures }` (`failures` empty: they agree). */
  async checkReceipts(receipts) {
    return this.#call('checkReceipts', { receipts: Array.isArray(receipts) ? receipts : [receipts] });
  }

  /** The whole state (config, keys' hash, encoder id, samples' encodings, adapters) as bytes. */
  async export() { return this.#call('export'); }

  /** Saves under `name` in this origin's private file system (crash-safe, overwritten in place). Later forgets keep that copy in sync. */
  async save(name) { await this.#call('save', { name: checkModelName(name) }); }

  /** Sizes: wasm memory, stored samples, encodings, adapters, and the origin's storage estimate. */
  async memory() { return this.#call('memory'); }

  /** Models saved in this origin's private file system. */
  async savedModels() { return this.#call('listSaved'); }

  /** Deletes one saved model. */
  async deleteSaved(name) { await this.#call('deleteSaved', { name: checkModelName(name) }); }

  /** Deletes every saved model and the cached encoder weights of this origin. */
  async clearStorage() { await this.#call('clearStorage'); }

  /** Class labels, sorted. */
  labels() { return [...this.#state.labels]; }

  /** Stored examples: `[{ id, label, adapters }]` (adapters: the indices it activates). */
  examples() { return this.#state.examples.map((e) => ({ ...e, adapters: [...e.adapters] })); }

  /** Adapters whose members changed since the last train. */
  get pendingAdapters() { return this.#state.pendingAdapters; }
  /** `{ adapters, activated }`: n and k as trained. */
  get structure() { return { adapters: this.#state.adapters, activated: this.#state.activated }; }

  /** What runs the encoder: `{ kind: 'webgpu'|'cpu', name, adapter, reason }`; adapters always train on the CPU. */
  get backend() { return structuredClone(this.#info.backend); }

  /** SHA-256 of the encoder weights in use. */
  get encoderId() { return this.#info.encoderId; }

  /** Lanes `addExamples` encodes on: the engine plus extra encoder Workers (1 on WebGPU). */
  get encoderWorkers() { return this.#info.encoderWorkers; }

  /** Stops the engine and frees its memory. Idempotent. */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#client?.close();
    this.#terminate?.();
  }

  [Symbol.dispose ?? Symbol.for("Symbol.dispose")]() { this.dispose(); }
}

export default LegoNet;
