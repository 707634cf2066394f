// Parallel encoding without cross-origin isolation. Wasm threads need SharedArrayBuffer, which a
// page only gets with COOP/COEP headers; most hosts send neither. Instead the engine spreads a
// batch of photos over a few encoder Workers (encoder-worker.js), each its own instance of the
// CPU wasm with its own copy of the weights, and keeps one lane for itself. The engine stays the one
// owner of the model: the pool only turns photos into encodings, in input order, and the engine
// adds them in one all-or-nothing step, so ids, routing and the model are exactly what one
// Worker gives (tests/pool.test.mjs checks the exported bytes at 1, 2 and 3 Workers).

import { errorFromCode, errorToWire } from './errors.js';

/** Jobs queued per lane: one encoding and the next one decoding meanwhile (createImageBitmap
 *  decodes off the lane's thread in Chromium), so no lane idles while a photo decodes or while
 *  the engine's own thread is busy with its share (messages only get in between two photos). */
const DEPTH = 2;

/** Most lanes the default picks: beyond 4 a few hundred photos are done before the extra Workers
 *  have started, and each one costs its own wasm memory. */
const DEFAULT_MAX = 4;

/** What one extra encoder Worker costs, for the memory cap. Measured in Chromium 156 on 2 cores
 *  (bench/browser.mjs): 85 MiB of wasm memory after its first encodes (weights, packed weights,
 *  keys, buffers); 96–138 MiB more browser PSS per extra Worker, compiled code and heap included. */
export const WORKER_BYTES = 128 * 2 ** 20;

/**
 * Default number of encoding lanes (the engine's own plus extra Workers): one per logical core,
 * at most DEFAULT_MAX, and no more extra Workers than an eighth of the device's memory pays for
 * (`navigator.deviceMemory`, Chromium only; elsewhere the core count decides).
 */
export function defaultEncoderWorkers(nav = globalThis.navigator) {
  const cores = Math.max(1, Math.floor(nav?.hardwareConcurrency ?? 1));
  const gb = nav?.deviceMemory;
  const byMemory = typeof gb === 'number' && gb > 0 ? 1 + Math.floor((gb * 2 ** 30) / 8 / WORKER_BYTES) : Infinity;
  return Math.max(1, Math.min(cores, DEFAULT_MAX, byMemory));
}

/** A task boundary: lets Worker replies and abort messages in. (setTimeout(0) is clamped to
 *  4 ms once nested, a seventh of an encode.) */
const yieldTask = () => new Promise((resolve) => {
  const { port1, port2 } = new MessageChannel();
  port1.onmessage = () => { port1.close(); resolve(); };
  port2.postMessage(null);
});

/**
 * When a Worker that says nothing is given up for dead. One can stop without an error event (a
 * frozen thread, a `close()`, a browser that reclaims it); waiting on it would hang `create` or
 * the batch for good, while dropping a live one only costs speed: its photos are encoded again
 * by another lane, to the same bits.
 * - `loadMs`: a Worker that has not fetched its files by then is dropped (init waits for them).
 * - `minMs`, `factor`: once the engine's own lane has nothing left to take, a Worker holding a
 *   job that has heard nothing from it for longer than `minMs` and `factor` times the slowest
 *   job answered in this batch is dropped. Never earlier: a slow Worker keeps its jobs while
 *   there is other work. Silence is counted from its oldest job's hand-over or its last answer,
 *   whichever is later, and afresh after the page was paused (a timer that fires a second or
 *   more late): a suspended tab's Workers are not taken for dead.
 */
const TIMEOUTS = { loadMs: 30_000, minMs: 5_000, factor: 10 };

/** A watchdog timer this much late means the page's threads were paused meanwhile. */
const PAUSED_MS = 1_000;

/** Starts an encoder Worker here. Written as `new Worker(new URL(...), { type: 'module', ... })`
 *  in one expression, the shape bundlers recognise and emit as a Worker with its imports: webpack
 *  copied a URL made elsewhere as a bare file, its imports left dangling (404s), and Vite needs
 *  the options' `type` written out. */
const startEncoderWorker = ({ name }) => new Worker(new URL('./encoder-worker.js', import.meta.url), { type: 'module', name });

/** Marks a job whose Worker died before answering: it is encoded again elsewhere. */
const LOST = Symbol('lost');

export class EncoderPool {
  #local;
  #helpers = [];
  #batch = null; // the running encodeAll's pump, so a Worker that becomes ready joins it
  #spawnWorker;
  #nextJob = 1;
  #timeouts;

  /**
   * @param {object} o
   * @param {number} o.helpers extra Workers to start (lanes − 1)
   * @param {Uint8Array} [o.weights] the encoder weights; each Worker is sent its own copy
   * @param {string} [o.wasmUrl] where the CPU wasm is, if not next to its glue
   * @param {WebAssembly.Module} [o.wasmModule] the CPU wasm, already compiled by the engine: sent
   *        to each Worker (a Module is cloned, not re-fetched or re-compiled); else they fetch it
   * @param {{ decode: (image: Blob|ImageBitmap) => Promise<ImageBitmap>,
   *            encode: (bitmap: ImageBitmap) => Promise<Float32Array> }} o.local the engine's own
   *        lane, in two steps so that the next photo decodes while this one encodes
   * @param {(options: WorkerOptions) => Worker} [o.spawn] starts an encoder Worker, or
   *        something with a Worker's surface (postMessage, onmessage, onerror, terminate): the
   *        engine Worker has the page start them (worker.js, `pageWorker`)
   * @param {Partial<typeof TIMEOUTS>} [o.timeouts] when a silent Worker is given up (TIMEOUTS)
   */
  constructor({ helpers, weights, wasmUrl, wasmModule, local, spawn = startEncoderWorker, timeouts }) {
    this.#local = local;
    this.#spawnWorker = spawn;
    this.#timeouts = { ...TIMEOUTS, ...timeouts };
    for (let i = 0; i < helpers; i++) this.#spawn(i, weights, wasmUrl, wasmModule);
  }

  #spawn(i, weights, wasmUrl, wasmModule) {
    let worker;
    try {
      worker = this.#spawnWorker({ type: 'module', name: `legonet-encoder-${i + 1}` });
    } catch { // no module Workers here: the engine encodes alone
      return;
    }
    const h = { worker, ready: false, dead: false, jobs: new Map(), wasmBytes: 0, heard: 0 };
    h.loaded = new Promise((resolve) => { h.onLoaded = resolve; });
    const loadTimer = setTimeout(() => this.#lose(h), this.#timeouts.loadMs);
    h.loaded.then(() => clearTimeout(loadTimer));
    worker.onmessage = (e) => this.#receive(h, e.data);
    // A Worker that cannot start (no module Workers, a bundler that dropped the file, out of
    // memory) or that crashes only costs speed: its jobs go back to the other lanes.
    worker.onerror = (e) => { e.preventDefault?.(); this.#lose(h); };
    worker.onmessageerror = () => this.#lose(h);
    const copy = weights.slice();
    worker.postMessage({ init: { weights: copy, wasmUrl, wasmModule } }, [copy.buffer]);
    this.#helpers.push(h);
  }

  #receive(h, msg) {
    if (msg.loaded) { h.onLoaded(); return; }
    if (msg.ready) {
      h.ready = true;
      h.wasmBytes = msg.ready.wasmBytes;
      this.#batch?.();
      return;
    }
    if (msg.initError) { this.#lose(h); return; }
    const job = h.jobs.get(msg.job);
    if (!job) return;
    h.heard = performance.now();
    h.jobs.delete(msg.job);
    h.wasmBytes = msg.wasmBytes ?? h.wasmBytes;
    if (msg.error) job.reject(errorFromCode(msg.error.code, msg.error.message));
    else job.resolve({ encoding: msg.encoding, ms: performance.now() - job.sent });
    // A trap (a panic, out of memory) may leave its wasm instance broken: no more jobs go there.
    if (msg.error?.code === 'INTERNAL') this.#lose(h);
  }

  #lose(h) {
    if (h.dead) return;
    h.dead = true;
    h.onLoaded();
    h.worker.terminate();
    for (const job of h.jobs.values()) job.reject(LOST);
    h.jobs.clear();
    this.#batch?.();
  }

  /** Hands `image` to Worker `h`; resolves to { encoding, ms } (ms: from hand-over to answer). */
  #send(h, image) {
    const job = this.#nextJob++;
    return new Promise((resolve, reject) => {
      h.jobs.set(job, { resolve, reject, sent: performance.now() });
      // Cloned, not transferred: if this Worker dies, the image is still here to encode again.
      h.worker.postMessage({ job, image });
    });
  }

  /** Resolves once every Worker has fetched its files (or failed): from then on the pool makes no
   *  network request, so the engine's init can promise none after it. The Workers may still be
   *  preparing their encoder (CPU only); they join batches when ready. */
  get loaded() { return Promise.all(this.#helpers.map((h) => h.loaded)).then(() => {}); }

  /** Lanes that encode now: the engine's own and every extra Worker that has started. */
  get lanes() { return 1 + this.#helpers.filter((h) => h.ready && !h.dead).length; }

  /** Wasm memory of each started extra Worker, in bytes. */
  workerBytes() { return this.#helpers.filter((h) => h.ready && !h.dead).map((h) => h.wasmBytes); }

  /**
   * Encodes `images` over every lane; resolves to their encodings in input order. Fails like one
   * lane taking them in order would: with the first image (by index) that fails, its error
   * rebuilt with `example i:` in front — every image before it is encoded first, so the index
   * does not depend on timing — or with ABORTED once `aborted()` is true (nothing new starts,
   * what runs is finished). `progress(done, total)` after each encoding.
   */
  encodeAll(images, { progress = () => {}, aborted = () => false } = {}) {
    return new Promise((resolve, reject) => {
      const out = new Array(images.length);
      const retry = []; // indices whose Worker died before answering (all below `next`)
      let next = 0;
      let done = 0;
      let running = 0;
      const localQueue = []; // the engine's own lane: [{ i, decoded }], the first one encoding
      let localRunning = false;
      let failure = null;
      let settled = false;
      let slowest = 0; // ms, the longest job answered in this batch (from handed out to answered)
      let watchdog = null; // a timer, while only Workers hold jobs (see TIMEOUTS)
      let resumed = 0; // when a late watchdog timer showed the page had been paused

      const take = () => {
        if (aborted()) return -1;
        const i = retry.length ? Math.min(...retry) : next;
        if (i >= images.length || (failure && i > failure.index)) return -1;
        if (retry.length) retry.splice(retry.indexOf(i), 1); else next++;
        return i;
      };
      const succeeded = (i, encoding) => {
        out[i] = encoding;
        done++;
        progress(done, images.length);
      };
      // A Worker got a copy of an ImageBitmap; the engine's own is closed once it is answered
      // (the engine's lane closes what it decodes itself, image.js).
      const release = (i) => { if (typeof images[i]?.close === 'function') images[i].close(); };
      const failed = (i, e) => { if (!failure || i < failure.index) failure = { index: i, error: e }; };
      const finish = () => {
        settled = true;
        clearTimeout(watchdog);
        this.#batch = null;
        // An abort counts until the batch is handed back, even once every photo was taken.
        const abort = !failure && aborted();
        if (failure || done < images.length || abort) {
          // Nothing is added: the encodings made so far are wiped, the photos never taken closed.
          for (const encoding of out) encoding?.fill(0);
          for (let i = next; i < images.length; i++) release(i);
          for (const i of retry) release(i);
        }
        if (failure) {
          const w = errorToWire(failure.error);
          reject(errorFromCode(w.code, `example ${failure.index}: ${w.message}`));
        } else if (done < images.length || abort) {
          reject(errorFromCode('ABORTED', 'adding was aborted; no example was added'));
        } else {
          resolve(out);
        }
      };
      const pump = () => {
        if (settled) return;
        // Workers first: posting is quick, and the engine's own encode below holds this thread.
        for (const h of this.#helpers) {
          while (h.ready && !h.dead && h.jobs.size < DEPTH) {
            const i = take();
            if (i < 0) break;
            running++;
            this.#send(h, images[i]).then(
              ({ encoding, ms }) => { running--; slowest = Math.max(slowest, ms); release(i); succeeded(i, encoding); pump(); },
              (e) => { running--; if (e === LOST) retry.push(i); else { release(i); failed(i, e); } pump(); },
            );
          }
        }
        while (localQueue.length < DEPTH) {
          const i = take();
          if (i < 0) break;
          running++;
          const decoded = this.#local.decode(images[i]);
          decoded.catch(() => {}); // its failure is handled when its turn comes
          localQueue.push({ i, decoded });
        }
        if (!localRunning && localQueue.length) runLocal();
        if (running === 0) finish();
        else if (!localRunning && !watchdog) watch();
      };
      // The engine's lane is idle with nothing left to take, so only Workers hold jobs: one that
      // has said nothing for too long is dropped (#lose hands its jobs back through pump).
      const watch = () => {
        const { minMs, factor } = this.#timeouts;
        const limit = Math.max(minMs, factor * slowest);
        let wait = Infinity;
        for (const h of [...this.#helpers]) {
          if (h.dead || h.jobs.size === 0) continue;
          const oldest = Math.min(...[...h.jobs.values()].map((j) => j.sent));
          const left = Math.max(oldest, h.heard, resumed) + limit - performance.now();
          if (left <= 0) this.#lose(h); else wait = Math.min(wait, left);
        }
        clearTimeout(watchdog); // #lose may have run pump, and this very function, meanwhile
        watchdog = null;
        if (settled || wait === Infinity) return;
        const due = performance.now() + wait;
        watchdog = setTimeout(() => {
          watchdog = null;
          if (performance.now() - due > PAUSED_MS) resumed = performance.now();
          if (!settled && !localRunning) watch();
        }, wait);
      };
      const runLocal = async () => {
        localRunning = true;
        const { i, decoded } = localQueue[0];
        const start = performance.now();
        try { succeeded(i, await this.#local.encode(await decoded)); } catch (e) { failed(i, e); }
        slowest = Math.max(slowest, performance.now() - start);
        localQueue.shift();
        running--;
        localRunning = false;
        await yieldTask();
        pump();
      };
      this.#batch = pump;
      pump();
    });
  }

  /** Stops every Worker; a batch still running fails with DISPOSED (and wipes what it made). */
  dispose() {
    for (const h of this.#helpers) {
      h.dead = true;
      h.onLoaded();
      h.worker.terminate();
      for (const job of h.jobs.values()) job.reject(errorFromCode('DISPOSED', 'the encoder pool was disposed'));
      h.jobs.clear();
    }
    this.#helpers = [];
  }
}
