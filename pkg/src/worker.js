// The engine: runs in a module Worker by default (training never freezes the page), or on the
// main thread through a MessageChannel when `worker: false`. It owns the wasm instance, the
// encoder, the LegoNet model and the storage; the facade (index.js) talks to it via rpc.js.

import initCpu, { WasmEngine as CpuEngine } from '../wasm/legonet.js';
import { errorToWire, AbortError, LegoNetError } from './errors.js';
import { decode, encodeWith } from './image.js';
import * as storage from './storage.js';
import { EncoderPool, defaultEncoderWorkers } from './pool.js';
import { ENGINE_WORKER } from './rpc.js';
import { checkName } from './names.js';

/** Adapters trained between two looks at the event loop (progress + abort). */
const TRAIN_CHUNK = 4;

const yieldToLoop = () => new Promise((r) => setTimeout(r, 0));

/** The smallest step of this scope's `performance.now()`, in ms: browsers coarsen it (without
 *  cross-origin isolation Chromium to 0.1 ms, Firefox to 1 ms), so a report's `ms` of 0 means
 *  "under this", not "instant". Measured once per scope: the least of a few observed steps. */
function clockResolution() {
  let least = Infinity;
  let last = performance.now();
  const until = last + 50; // a clock coarser than 50 ms is reported as 50
  for (let steps = 0; steps < 4;) {
    const now = performance.now();
    if (now !== last) { least = Math.min(least, now - last); last = now; steps += 1; }
    if (now >= until) break;
  }
  // Rounded to whole microseconds: the clamped steps are exact multiples, the subtraction is not.
  return Math.min(Math.round(least * 1000) / 1000, 50);
}
let msResolution = null;

/** `ms` as a multiple of `msResolution` (its documented form; a difference of two clamped
 *  clock readings is one up to float error). */
const onClock = (ms) => (msResolution ? Number((Math.round(ms / msResolution) * msResolution).toFixed(6)) : ms);

async function gpuAdapter() {
  if (typeof navigator === 'undefined' || !navigator.gpu) return null;
  try {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return null;
    const info = adapter.info ?? {};
    return {
      vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '',
      isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
    };
  } catch { return null; }
}

async function timeEncode(e) {
  const rgba = new Uint8Array(256 * 256 * 4).fill(128);
  await e.encodeRgba(rgba, 256, 256); // first call compiles shaders / warms caches
  const t = performance.now();
  await e.encodeRgba(rgba, 256, 256);
  return performance.now() - t;
}

/**
 * The package has two wasm files (README, "Two wasm files"). The CPU wasm (`legonet_bg.wasm`: the
 * fused kernels, LegoNet, preprocessing) is all most visitors fetch. The WebGPU wasm
 * (`legonet_webgpu_bg.wasm`: the same plus burn's WebGPU encoder, CubeCL included, many times
 * larger) is imported only once a WebGPU run is possible: `'webgpu'` asked for, or `'auto'`
 * seeing a real (non-fallback) adapter. Resolves to { adapter, Engine } (the chosen wasm's
 * `WasmEngine`). `urls`: the overrides { wasmUrl, webgpuWasmUrl }.
 */
async function loadWasm(requested, urls) {
  const adapter = requested === 'cpu' ? null : await gpuAdapter();
  if (requested === 'webgpu' && !adapter) throw new LegoNetError('BACKEND', 'WebGPU was requested but navigator.gpu gives no adapter');
  let gpuError = null;
  if (requested === 'webgpu' || (requested === 'auto' && adapter && !adapter.isFallbackAdapter)) {
    try {
      const glue = await import('../wasm/legonet_webgpu.js');
      await glue.default(urls.webgpuWasmUrl ? { module_or_path: urls.webgpuWasmUrl } : undefined);
      return { adapter, Engine: glue.WasmEngine, webgpu: true };
    } catch (e) {
      if (requested === 'webgpu') throw new LegoNetError('BACKEND', `the WebGPU wasm could not be loaded: ${e?.message ?? e}`);
      gpuError = e; // 'auto': the CPU wasm instead
    }
  }
  // Once per scope (an engine on the main thread may be created again).
  cpuModule ??= compileCpuWasm(urls.wasmUrl).catch((e) => { cpuModule = null; throw e; });
  const module = await cpuModule;
  await initCpu({ module_or_path: module });
  return { adapter, Engine: CpuEngine, cpuModule: module, webgpu: false, gpuError };
}

/** The CPU wasm, compiled here rather than by its glue so that the encoder Workers get the
 *  `WebAssembly.Module` itself: they neither fetch nor compile it again. */
let cpuModule = null;
async function compileCpuWasm(wasmUrl) {
  const url = wasmUrl ?? new URL('../wasm/legonet_bg.wasm', import.meta.url);
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new LegoNetError('BACKEND', `the CPU wasm: ${url} could not be fetched (${e?.message ?? e})`);
  }
  if (!response.ok) throw new LegoNetError('BACKEND', `the CPU wasm: ${response.url} answered ${response.status}`);
  try {
    return await WebAssembly.compileStreaming(response.clone());
  } catch { // served without Content-Type application/wasm: compiled from the bytes
    try {
      return await WebAssembly.compile(await response.arrayBuffer());
    } catch (e) {
      throw new LegoNetError('BACKEND', `the CPU wasm: ${response.url} does not compile (${e?.message ?? e})`);
    }
  }
}

/** Creates the engine on the requested backend from the wasm `loadWasm` chose; 'auto'
 *  measures, and never picks a fallback adapter. */
async function createEngine(weights, requested, config, { adapter, Engine, webgpu, gpuError }) {
  const cpu = async (reason) => ({ engine: await Engine.create(weights, 'cpu', config), backend: { kind: 'cpu', name: 'cpu', adapter, reason } });
  if (requested === 'cpu') return cpu('requested');
  if (gpuError) return cpu(`the WebGPU wasm could not be loaded: ${gpuError?.message ?? gpuError}`);
  if (requested === 'webgpu') {
    const e = await Engine.create(weights, 'wgpu', config);
    return { engine: e, backend: { kind: 'webgpu', name: 'wgpu', adapter, device: e.device, reason: 'requested' } };
  }
  if (!adapter) return cpu('no WebGPU adapter');
  if (adapter.isFallbackAdapter || !webgpu) return cpu('the only WebGPU adapter is a software fallback');
  // A real adapter: both candidates run in the WebGPU wasm (its CPU engine is the CPU wasm's
  // code, bit for bit), so the engine does not fetch the CPU wasm as well. (Should the CPU win,
  // the encoder Workers fetch it, before create() resolves.)
  const c = await Engine.create(weights, 'cpu', config);
  let g = null;
  let gpuMs;
  try {
    const cpuMs = await timeEncode(c);
    try {
      g = await Engine.create(weights, 'wgpu', config);
      gpuMs = await timeEncode(g);
    } catch (e) { // a real adapter that still fails (driver, lost device): 'auto' runs on the CPU
      g?.free();
      return { engine: c, backend: { kind: 'cpu', name: 'cpu', adapter, reason: `WebGPU failed: ${e?.message ?? e}` } };
    }
    const reason = `warm-up encode: webgpu ${gpuMs.toFixed(1)} ms, cpu ${cpuMs.toFixed(1)} ms`;
    if (gpuMs < cpuMs) {
      c.free();
      return { engine: g, backend: { kind: 'webgpu', name: 'wgpu', adapter, device: g.device, reason } };
    }
    g.free();
    return { engine: c, backend: { kind: 'cpu', name: 'cpu', adapter, reason } };
  } catch (e) {
    c.free();
    throw e;
  }
}

/** The Rust report and its deletion receipt in the package's documented shape (index.d.ts). */
function forgetReport({ report: r, receipt }) {
  return {
    forgotten: r.forgotten, retrainedAdapters: r.adapters, samplesReplayed: r.samplesReplayed,
    paramsRetrained: r.paramsRetrained, restructured: r.restructured, ms: onClock(r.elapsedMs), msResolution, receipt,
  };
}

/**
 * Overwrites typed arrays holding encodings or snapshots once used: the engine keeps no copy
 * of a forgotten example's encoding, not even in memory the garbage collector has not yet
 * reclaimed.
 */
function wipe(...arrays) {
  for (const a of arrays) a?.fill?.(0);
}

/** `ids` checked to be an array of names (names.js): wasm-bindgen would turn anything else into
 *  a trap (a number as `&str`). */
function idList(ids, verb) {
  if (!Array.isArray(ids)) throw new LegoNetError('INVALID_INPUT', `${verb} expects an id or an array of ids (strings)`);
  ids.forEach((id, i) => checkName(id, `${verb}: id ${i}`));
  return ids;
}

/**
 * An encoder Worker for the engine Worker, started by the page (index.js) rather than nested
 * here: Firefox ESR now and then freezes a Worker's thread inside `new Worker()` (reproduced
 * without legonet: a module Worker starting Workers in a loop hangs within a few hundred), which
 * left `create` hanging for good. The page hands the new Worker one end of a MessageChannel;
 * this returns the other with a Worker's surface for the pool (postMessage, onmessage, onerror,
 * terminate). `lost` maps an id to the handler the page's `{ encoderWorkerLost: id }` calls.
 */
function pageWorker(scope, lost, id, options) {
  const { port1, port2 } = new MessageChannel();
  const worker = {
    onmessage: null, onerror: null, onmessageerror: null,
    postMessage: (msg, transfer) => port1.postMessage(msg, transfer),
    terminate: () => { port1.close(); lost.delete(id); scope.postMessage({ encoderWorker: { id, terminate: true } }); },
  };
  port1.onmessage = (e) => worker.onmessage?.(e);
  port1.onmessageerror = (e) => worker.onmessageerror?.(e);
  lost.set(id, () => worker.onerror?.({ type: 'error', message: 'the encoder Worker failed' }));
  scope.postMessage({ encoderWorker: { id, name: options.name, port: port2 } }, [port2]);
  return worker;
}

/**
 * One engine and what belongs to it: its encoder pool, the saved model it is bound to, and the
 * token (storage.js) of each name it loaded or saved. One per `serve`, so two `worker: false`
 * instances on one page share nothing but the compiled wasm. `spawn`: how its pool starts
 * encoder Workers (default `new Worker`).
 */
function engineHost(spawn) {
  let engine = null;
  let pool = null; // spreads addExamples over extra encoder Workers (pool.js); CPU backend only
  let bound = null; // the saved model's name that forget, removeClass and train keep in sync
  const tokens = new Map(); // name → { lineage, generation } as this engine last loaded or saved it

  const need = () => {
    if (!engine) throw new LegoNetError('NOT_INITIALISED', 'the engine is not initialised');
    return engine;
  };

  const encode = (image) => encodeWith(engine, image);

  /**
   * The state the facade mirrors. With `examples: false` the examples are left out (the facade
   * keeps its own, less `removed`): a train or forget that does not restructure changes none of
   * the others, and at thousands of examples the list would dominate the reply.
   */
  const state = ({ examples = true, removed } = {}) => (examples ? engine.state() : { ...engine.stateCounts(), removed: removed ?? [] });

  /**
   * Saves the engine's state under `name`, after running `change` (a synchronous engine change)
   * under the same lock as the check that this engine's copy is current (storage.saveModel): a
   * stale engine is refused before anything changes, and its state can be saved under no name.
   */
  async function saveAs(name, change) {
    const from = bound !== null && bound !== name ? { name: bound, token: tokens.get(bound) } : undefined;
    const produce = () => { change?.(); return engine.exportBytes(); };
    try {
      tokens.set(name, await storage.saveModel(name, produce, { encoderId: engine.encoderId }, tokens.get(name), from));
    } catch (e) {
      if (e.token) { // one slot was written: that is the saved copy now, and the one to keep in sync
        tokens.set(name, e.token);
        bound = name;
      }
      throw e;
    }
  }

  /**
   * A forget or removeClass: `change` runs, and when bound its result is saved in the same step.
   * Stale, it is refused with nothing changed. Should the write fail after the change (the disk,
   * not staleness), the change stays — a forget is not taken back — and the error carries the
   * report and the state, so the facade mirrors it and the caller can save again.
   */
  async function forgetting(change, removed) {
    let report;
    const run = () => { report = forgetReport(change()); };
    // The examples are sent only when the facade cannot work them out (removed ids unknown).
    const after = () => state({ examples: report.restructured || removed === undefined, removed });
    try {
      if (bound === null) run(); else await saveAs(bound, run);
    } catch (e) {
      if (report) e.details = { report, state: after() };
      throw e;
    }
    return { report, state: after() };
  }

  const handlers = {
    async init({ encoderUrl, wasmUrl, webgpuWasmUrl, backend = 'auto', config = {}, encoderWorkers }) {
      if (engine) throw new LegoNetError('INTERNAL', 'the engine is already initialised');
      msResolution ??= clockResolution(); // the Rust reports' clock (web-time) is this performance.now()
      // The weights and the wasm download at once (a first visit waits for the longer, not both).
      const [fetched, wasm] = await Promise.all([storage.fetchWeights(encoderUrl), loadWasm(backend, { wasmUrl, webgpuWasmUrl })]);
      let weights = fetched;
      let created;
      try {
        created = await createEngine(weights.bytes, backend, config, wasm);
      } catch (e) {
        // Weights that do not load are fetched again, once, past every cache: this package's
        // (a copy damaged on disk) and any between it and the host (a service worker or HTTP
        // cache that kept a captive portal's page answered with 200). Fetched weights are cached
        // here only once they load.
        if (e?.code !== 'INVALID_WEIGHTS') throw e;
        await weights.drop();
        weights = await storage.fetchWeights(encoderUrl, { reload: true });
        created = await createEngine(weights.bytes, backend, config, wasm);
      }
      await weights.keep();
      const { bytes, fromCache } = weights;
      engine = created.engine;
      // On WebGPU the engine encodes on the GPU; more CPU instances would only cost memory. The
      // extra Workers prepare their encoders in the background and join the first batch that finds
      // them ready; init only waits for their files, so no request is made after it.
      const lanes = created.backend.kind === 'cpu' ? (encoderWorkers ?? defaultEncoderWorkers()) : 1;
      pool = new EncoderPool({ helpers: lanes - 1, weights: bytes, wasmUrl, wasmModule: wasm.cpuModule, local: { decode, encode }, spawn });
      await pool.loaded;
      return { backend: created.backend, encoderId: engine.encoderId, weightsFromCache: fromCache, encoderWorkers: lanes, state: state() };
    },

    async addExamples({ items }, ctx) {
      need(); // the facade checked labels and ids before sending the images (index.js)
      // In input order, whichever lane encoded each; the first failing image (by index) fails it all.
      const encodings = await pool.encodeAll(items.map((it) => it.image), {
        aborted: ctx.aborted,
        progress: (done, total) => ctx.progress({ phase: 'encode', done, total }),
      });
      // All encoded: add them in one all-or-nothing step.
      let ids;
      try {
        ids = engine.addMany(items.map((it) => it.id ?? null), encodings, items.map((it) => it.label));
      } finally {
        wipe(...encodings); // the model holds its own copies; no stray one may outlive a forget
      }
      return { ids, state: state() };
    },

    async train(_args, ctx) {
      need();
      // A stale engine is refused before it spends the time (and again, under the lock, at the save).
      if (bound !== null) await storage.checkSaved(bound, tokens.get(bound));
      const total = engine.pendingAdapters();
      engine.trainBegin(); // a train that fails or is aborted puts this exact state back
      let ok = false;
      const report = { adaptersTrained: 0, samplesReplayed: 0, paramsTrained: 0, restructured: false, ms: 0, msResolution };
      const t0 = performance.now();
      try {
        for (;;) {
          await yieldToLoop(); // lets an abort (posted any time since the call) in between chunks
          if (ctx.aborted()) throw new AbortError('training was aborted; the model is as it was before train()');
          if (engine.pendingAdapters() === 0) break;
          const r = engine.trainSome(TRAIN_CHUNK);
          report.adaptersTrained += r.adaptersTrained;
          report.samplesReplayed += r.samplesReplayed;
          report.paramsTrained += r.paramsTrained;
          report.restructured ||= r.restructured;
          ctx.progress({ phase: 'train', done: total - engine.pendingAdapters(), total });
        }
        report.ms = onClock(performance.now() - t0);
        if (bound !== null) await saveAs(bound);
        ok = true;
      } catch (e) {
        // Saved in one slot before the write failed: the trained model is the saved one, so it
        // is kept (and mirrored), not rolled back.
        if (e.token) {
          ok = true;
          e.details = { state: state({ examples: report.restructured }) };
        }
        throw e;
      } finally {
        engine.trainEnd(!ok);
      }
      return { report, state: state({ examples: report.restructured }) };
    },

    async predict({ image }) {
      need();
      const encoding = await encode(image);
      try { return engine.predict(encoding); } finally { wipe(encoding); }
    },

    async forget({ ids }) {
      need();
      idList(ids, 'forget');
      return forgetting(() => engine.forget(ids), ids);
    },

    async removeClass({ label }) {
      need();
      checkName(label, 'removeClass: label');
      return forgetting(() => engine.removeClass(label));
    },

    async audit({ image }) {
      need();
      const encoding = await encode(image);
      let audit;
      try { audit = engine.audit(encoding); } finally { wipe(encoding); }
      const t = performance.now();
      const r = engine.verify();
      const verify = { ok: r.mismatches.length === 0, adaptersChecked: r.adaptersChecked, mismatches: r.mismatches, ms: onClock(performance.now() - t), msResolution };
      return { ...audit, verify, ...engine.provenance() };
    },

    async checkReceipts({ receipts }) {
      need();
      if (!Array.isArray(receipts)) throw new LegoNetError('INVALID_RECEIPT', 'checkReceipts expects a receipt or an array of receipts');
      return engine.checkReceipts(receipts);
    },

    async addClass({ label }) {
      need().addClass(checkName(label, 'addClass: label'));
      return { state: state() };
    },

    async compare({ forget }) {
      return need().compare(idList(forget ?? [], 'compare: forget'))
        .map((row) => ({ ...row, trainMs: onClock(row.trainMs), forgetMs: onClock(row.forgetMs), msResolution }));
    },

    async verify() {
      const t = performance.now();
      const r = need().verify();
      return { ok: r.mismatches.length === 0, adaptersChecked: r.adaptersChecked, mismatches: r.mismatches, ms: onClock(performance.now() - t), msResolution };
    },

    async export() {
      need();
      // A stale engine may hold a photo another tab forgot: its bytes are not handed out.
      if (bound !== null) await storage.checkSaved(bound, tokens.get(bound));
      const bytes = engine.exportBytes();
      return { value: bytes, transfer: [bytes.buffer] };
    },

    async import({ bytes }) {
      try { need().importBytes(bytes); } finally { wipe(bytes); } // a copy made for the engine (index.js)
      bound = null;
      return { state: state() };
    },

    async save({ name }) {
      need();
      await saveAs(name);
      bound = name;
      return { state: state() };
    },

    async load({ name }) {
      need();
      const record = await storage.loadModel(name);
      try { engine.importBytes(record.snapshot); } finally { wipe(record.snapshot); }
      tokens.set(name, record.token);
      bound = name;
      return { state: state() };
    },

    async memory() {
      need();
      return { ...engine.memory(), encoderWorkerBytes: pool.workerBytes(), storage: (await navigator.storage?.estimate?.()) ?? null };
    },

    listSaved: () => storage.listModels(),
    // A stale engine may delete its copy, but stays bound to it: its state still holds what
    // another tab forgot, so it may save or export nothing until it loads again.
    deleteSaved: async ({ name }) => deleted(name, await storage.deleteModel(name, tokens.get(name))),
    // Tokens of copies another tab changed or deleted stay, stale (`deleted`).
    clearStorage: () => storage.clearAll((name) => tokens.get(name), deleted),
  };

  /** `name`'s saved copy was deleted; `current`: it was the one this engine knew (decided under
   *  its lock at deletion time). A copy it knew that another tab had changed keeps its token,
   *  stale, bound or not: this engine's state may hold what that tab forgot there, so it may not
   *  write that name again until it loads a current copy (deleting must not make it current). */
  function deleted(name, current) {
    if (!current && tokens.has(name)) return;
    tokens.delete(name);
    if (bound === name) bound = null;
  }

  /** Stops the encoder Workers and frees the engine's wasm memory. */
  const stop = () => {
    pool?.dispose();
    pool = null;
    engine?.free();
    engine = null;
  };
  return { handlers, stop };
}

/** Serves the RPC protocol of rpc.js on `port` (a Worker's global scope or a MessagePort) with an
 *  engine of its own. `pageSpawns`: the page starts the encoder Workers (the engine Worker; see
 *  `pageWorker`), else they are started here (an engine on the page's thread). Returns a
 *  function that stops the engine and its encoder Workers. */
export function serve(port, { pageSpawns = false } = {}) {
  const lost = new Map(); // encoder Worker id → its failure handler (pageWorker)
  let nextEncoder = 1;
  const spawn = pageSpawns ? (options) => pageWorker(port, lost, nextEncoder++, options) : undefined;
  const { handlers, stop } = engineHost(spawn);
  const live = new Set(); // calls received and not yet answered: only they can be aborted
  const aborted = new Set();
  let queue = Promise.resolve(); // one call at a time: the engine is single-threaded
  port.onmessage = (e) => {
    const msg = e.data;
    if (msg.abort) { if (live.has(msg.abort)) aborted.add(msg.abort); return; }
    if (msg.encoderWorkerLost) { lost.get(msg.encoderWorkerLost)?.(); return; }
    const { id, method, args } = msg;
    live.add(id);
    queue = queue.then(async () => {
      const ctx = {
        progress: (p) => port.postMessage({ id, progress: p }),
        aborted: () => aborted.has(id),
      };
      try {
        const handler = handlers[method];
        if (!handler) throw new LegoNetError('INTERNAL', `unknown method ${method}`);
        const out = await handler(args ?? {}, ctx);
        if (out && out.transfer) port.postMessage({ id, ok: true, value: out.value }, out.transfer);
        else port.postMessage({ id, ok: true, value: out });
      } catch (err) {
        port.postMessage({ id, ok: false, error: errorToWire(err) });
      } finally {
        live.delete(id);
        aborted.delete(id);
      }
    });
  };
  return stop;
}

// The engine Worker's entry script (index.js names it); imported anywhere else, it only exports.
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope && self.name === ENGINE_WORKER) {
  serve(self, { pageSpawns: true });
}
