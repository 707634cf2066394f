// Benchmark page of the peer comparison (docs/peers.md). run.mjs opens it once per suite in the
// same headless Chromium session and calls window.benchSuite(name, options):
//   legonet     legonet's wasm encoder (tests/wasm), backends cpu (fused kernels, the default) / flex / wgpu
//               (ndarray is native-only since the wasm split: it reports "not in this build")
//   ort-wasm    onnxruntime-web, `wasm` execution provider (1 thread, SIMD)
//   ort-webgpu  onnxruntime-web, `webgpu` execution provider
//   tfjs        TF.js (wasm backend): Dense(1280->C) + Adam head training (model.fit and a
//               hand-written loop), forget (= retrain without the sample), knn-classifier
//   legonet-train  legonet's adapter training / forget / KNN, if its wasm API exists
//   pool-photos    the npm package's addExamples of a folder of photos over its encoder Workers
//   ort-photos     the same photos through onnxruntime-web (wasm EP, `threads` threads), decoded
//                  and preprocessed the way a page would (canvas), one pass timed per call
// Every timing: warm-up first, then the median of the timed repetitions.
import { adapterInfo, cosine } from '/tests/pages/compare.js';

const NM = '/bench/peers/node_modules';
const CACHE = '/bench/peers/cache';
// legonet's test/bench wasm (tests/wasm: `WasmEncoder` is only there; ./dev builds it) unless
// run.mjs says otherwise
const LEGONET_JS = new URLSearchParams(location.search).get('legonet') ?? '/tests/wasm/legonet.js';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const bytes = async (url) => { const r = await fetch(url); if (!r.ok) throw new Error(`${url}: ${r.status}`); return new Uint8Array(await r.arrayBuffer()); };
const f32 = async (url) => new Float32Array((await bytes(url)).buffer);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function env() {
  return { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated,
           hardwareConcurrency: navigator.hardwareConcurrency,
           sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined' };
}

/** Fixture inputs [4,3,224,224] and the oracle embeddings (for a sanity check of each runner). */
async function fixtures() {
  const x = await f32(`${CACHE}/fixtures.input.f32`);
  const want = await f32('/fixtures/chelsea.embedding.f32');
  return { x, want, per: 3 * 224 * 224 };
}
function batchOf(fx, batch) {
  const out = new Float32Array(fx.per * batch);
  for (let b = 0; b < batch; b++) out.set(fx.x.subarray((b % 4) * fx.per, ((b % 4) + 1) * fx.per), b * fx.per);
  return out;
}

/** Times run(batchInput) for batch 1 and 8: ms/image medians after one warm-up. */
async function encoderTimes(run, fx, { reps1, reps8 }) {
  const out = {};
  for (const [batch, reps] of [[1, reps1], [8, reps8]]) {
    const input = batchOf(fx, batch);
    const tw = performance.now();
    await run(input, batch);
    const warm = performance.now() - tw;
    const runs = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      await run(input, batch);
      runs.push((performance.now() - t) / batch);
    }
    out[`batch${batch}`] = { msPerImage: median(runs), runs, warmupMs: warm };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
async function suiteLegonet({ backends = ['cpu', 'flex', 'ndarray', 'wgpu'], reps1 = 10, reps8 = 5, repsGpu1 = 3, repsGpu8 = 2 } = {}) {
  const mod = await import(LEGONET_JS);
  await mod.default();
  const weights = await bytes('/weights/efficientnet-lite0.safetensors');
  const fx = await fixtures();
  const res = { env: env(), adapter: await adapterInfo(), backends: {} };
  for (const backend of backends) {
    try {
      const t0 = performance.now();
      const enc = await mod.WasmEncoder.create(weights, backend);
      const loadMs = performance.now() - t0;
      const check = await enc.encodeInput(fx.x.subarray(0, fx.per));
      const gpu = backend === 'wgpu';
      const times = await encoderTimes((input) => enc.encodeInput(input), fx,
        gpu ? { reps1: repsGpu1, reps8: repsGpu8 } : { reps1, reps8 });
      res.backends[backend] = { device: enc.device, loadMs, cosine: cosine(check.encodings, fx.want), ...times };
      enc.free();
    } catch (e) {
      res.backends[backend] = { error: String(e?.message ?? e) };
    }
  }
  return res;
}

async function suiteOrt({ ep = 'wasm', reps1 = 10, reps8 = 5 } = {}) {
  const ort = await import(ep === 'webgpu' ? `${NM}/onnxruntime-web/dist/ort.webgpu.min.mjs` : `${NM}/onnxruntime-web/dist/ort.wasm.min.mjs`);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true; // ignored by recent versions (the wasm is always SIMD); kept for clarity
  ort.env.wasm.wasmPaths = `${NM}/onnxruntime-web/dist/`;
  const model = await bytes(`${CACHE}/efficientnet-lite0.onnx`);
  const fx = await fixtures();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  const loadMs = performance.now() - t0;
  const run = async (input, batch) => {
    const feeds = { input: new ort.Tensor('float32', input, [batch, 3, 224, 224]) };
    const out = await session.run(feeds);
    await out.embedding.getData(); await out.logits.getData();
    return out;
  };
  const check = await run(fx.x.slice(0, fx.per), 1);
  const times = await encoderTimes(run, fx, { reps1, reps8 });
  await session.release();
  return { env: env(), adapter: ep === 'webgpu' ? await adapterInfo() : null, ortVersion: ort.env.versions?.web ?? null,
           numThreads: ort.env.wasm.numThreads, ep, loadMs, cosine: cosine(check.embedding.data, fx.want), ...times };
}

// ---------------------------------------------------------------------------------------------
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src; s.onload = resolve; s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

async function trainingSet(name) {
  const sets = await (await fetch(`${CACHE}/sets.json`)).json();
  const [base, nStr] = name.split(':');
  const meta = sets[base];
  const n = nStr ? Number(nStr) : meta.n;
  const x = (await f32(`${CACHE}/${base}.enc.f32`)).slice(0, n * 1280);
  const y = (await bytes(`${CACHE}/${base}.labels.u8`)).slice(0, n);
  return { name: `${base}-${n}`, n, classes: meta.classes.length, x, y };
}

/**
 * Held-out encodings for a training set, so every training row prints an accuracy beside its
 * time: Fashion-MNIST's own 1,000 test images; for a prefix of the photos, the photos after it;
 * for all 243 photos (nothing left over) `null`, and the caller uses 5-fold cross-validation.
 */
async function heldOut(name) {
  const [base, nStr] = name.split(':');
  if (base === 'fmnist-2000') {
    const t = await trainingSet('fmnist-test-1000');
    return { ...t, how: 'the 1,000 Fashion-MNIST test images' };
  }
  const sets = await (await fetch(`${CACHE}/sets.json`)).json();
  const n = nStr ? Number(nStr) : sets[base].n;
  if (n >= sets[base].n) return null;
  const x = (await f32(`${CACHE}/${base}.enc.f32`)).slice(n * 1280);
  const y = (await bytes(`${CACHE}/${base}.labels.u8`)).slice(n);
  return { n: y.length, classes: sets[base].classes.length, x, y, how: `the other ${y.length} photos` };
}

/**
 * Accuracy of `fit(trainX, trainY) -> predict(x) -> class` on held-out encodings: on `held`, or
 * by 5-fold cross-validation over the training set when `held` is null (folds by index mod 5;
 * the sets are stored shuffled).
 */
async function heldOutAccuracy(set, held, fitPredict) {
  const rows = (x, idx) => idx.map((i) => x.slice(i * 1280, (i + 1) * 1280));
  const splits = held
    ? [{ train: [...Array(set.n).keys()], test: null }]
    : [0, 1, 2, 3, 4].map((f) => ({ train: [...Array(set.n).keys()].filter((i) => i % 5 !== f),
                                    test: [...Array(set.n).keys()].filter((i) => i % 5 === f) }));
  let right = 0, total = 0;
  for (const { train, test } of splits) {
    const tx = rows(set.x, train), ty = train.map((i) => set.y[i]);
    const qx = test ? rows(set.x, test) : rows(held.x, [...Array(held.n).keys()]);
    const qy = test ? test.map((i) => set.y[i]) : Array.from(held.y);
    const predicted = await fitPredict(tx, ty, qx);
    predicted.forEach((c, i) => { right += c === qy[i] ? 1 : 0; });
    total += qy.length;
  }
  return { accuracy: right / total, tested: total, how: held ? held.how : '5-fold cross-validation' };
}

/** Dense(1280->C) softmax head + Adam(1e-3), batch 32, `epochs` epochs, on TF.js. */
async function suiteTfjs({ sets = ['photos-243:125', 'photos-243', 'fmnist-2000'], epochs = 20, reps = 5, backend = 'wasm', knnQueries = 50 } = {}) {
  if (!self.tf) {
    await loadScript(`${NM}/@tensorflow/tfjs/dist/tf.min.js`);
    await loadScript(`${NM}/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js`);
    await loadScript(`${NM}/@tensorflow-models/knn-classifier/dist/knn-classifier.min.js`);
  }
  const tf = self.tf;
  if (backend === 'wasm') tf.wasm.setWasmPaths(`${NM}/@tensorflow/tfjs-backend-wasm/dist/`);
  await tf.setBackend(backend);
  await tf.ready();
  const res = { env: env(), tfjsVersion: tf.version.tfjs, backend: tf.getBackend(), epochs, batchSize: 32, sets: {} };
  const wasmSimd = backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : null;
  const wasmThreads = backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') : null;
  Object.assign(res, { wasmSimd, wasmThreads });

  const makeModel = (C, seed) => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [1280], units: C, activation: 'softmax',
                            kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
    return m;
  };
  for (const setName of sets) {
    const set = await trainingSet(setName);
    const X = tf.tensor2d(set.x, [set.n, 1280]);
    const Y = tf.oneHot(tf.tensor1d(set.y, 'int32'), set.classes).toFloat();
    const out = {};

    // (a) model.fit
    const fitOnce = async (Xs, Ys) => {
      const m = makeModel(set.classes, 1);
      m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const h = await m.fit(Xs, Ys, { batchSize: 32, epochs, shuffle: true, verbose: 0 });
      const acc = h.history.acc?.at(-1) ?? h.history.accuracy?.at(-1);
      m.dispose();
      return acc;
    };
    // (b) hand-written loop: optimizer.minimize over pre-sliced batches, no callbacks
    const loopOnce = async (Xs, Ys, keep = false) => {
      const n = Xs.shape[0];
      const W = tf.variable(tf.initializers.glorotUniform({ seed: 1 }).apply([1280, set.classes]));
      const b = tf.variable(tf.zeros([set.classes]));
      const opt = tf.train.adam(1e-3);
      const batches = [];
      for (let i = 0; i < n; i += 32) {
        const k = Math.min(32, n - i);
        batches.push([Xs.slice([i, 0], [k, 1280]), Ys.slice([i, 0], [k, set.classes])]);
      }
      let last;
      for (let e = 0; e < epochs; e++) {
        for (const [xb, yb] of batches) {
          last?.dispose();
          last = opt.minimize(() => tf.losses.softmaxCrossEntropy(yb, tf.add(tf.matMul(xb, W), b)), true);
        }
      }
      const loss = (await last.data())[0];
      last.dispose(); batches.forEach(([xb, yb]) => { xb.dispose(); yb.dispose(); });
      opt.dispose();
      if (keep) return { W, b };
      W.dispose(); b.dispose();
      return loss;
    };
    const timeIt = async (fn, r) => {
      await fn(); // warm-up
      const runs = [];
      let value;
      for (let i = 0; i < r; i++) { const t = performance.now(); value = await fn(); runs.push(performance.now() - t); }
      return { ms: median(runs), runs, last: value };
    };
    out.fit = await timeIt(() => fitOnce(X, Y), reps);
    out.loop = await timeIt(() => loopOnce(X, Y), reps);
    // forget one sample: an exact forget in a dense head = retrain from scratch on the other n-1
    const Xf = X.slice([1, 0], [set.n - 1, 1280]);
    const Yf = Y.slice([1, 0], [set.n - 1, set.classes]);
    out.forgetLoop = await timeIt(() => loopOnce(Xf, Yf), reps);
    Xf.dispose(); Yf.dispose();

    // KNN: knn-classifier, k = 3
    const knn = self.knnClassifier.create();
    const rows = tf.unstack(X);
    const tAdd = performance.now();
    rows.forEach((row, i) => knn.addExample(row, set.y[i]));
    const addMs = performance.now() - tAdd;
    const qs = rows.slice(0, Math.min(knnQueries + 1, rows.length));
    const tFirst = performance.now();
    await knn.predictClass(qs[0], 3);
    const firstMs = performance.now() - tFirst;
    const pr = [];
    // One timed block over all queries (a single call is at the 0.1 ms timer resolution of a
    // page that is not cross-origin isolated); repeated 5 times, median of the per-query means.
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (const q of qs.slice(1)) await knn.predictClass(q, 3);
      pr.push((performance.now() - t) / (qs.length - 1));
    }
    // forget in knn-classifier: clearClass + re-add that class's other examples (its only removal API)
    const fr = [];
    for (let i = 0; i < Math.min(5, set.n); i++) {
      const c = set.y[i];
      const t = performance.now();
      knn.clearClass(c);
      rows.forEach((row, j) => { if (set.y[j] === c && j !== i) knn.addExample(row, c); });
      fr.push(performance.now() - t);
      knn.addExample(rows[i], c);
    }
    out.knn = { k: 3, addAllMs: addMs, firstPredictMs: firstMs, predictMs: median(pr), predictRuns: pr.length,
                forgetMs: median(fr) };
    knn.dispose(); rows.forEach((r) => r.dispose());
    X.dispose(); Y.dispose();

    // Accuracy on held-out encodings (not timed): the hand-written loop's head and knn-classifier.
    const held = await heldOut(setName);
    out.loop.accuracy = await heldOutAccuracy(set, held, async (tx, ty, qx) => {
      const Xt = tf.tensor2d(tx.flatMap((r) => Array.from(r)), [tx.length, 1280]);
      const Yt = tf.oneHot(tf.tensor1d(ty, 'int32'), set.classes).toFloat();
      const { W, b } = await loopOnce(Xt, Yt, true);
      const Q = tf.tensor2d(qx.flatMap((r) => Array.from(r)), [qx.length, 1280]);
      const scores = tf.add(tf.matMul(Q, W), b);
      const pred = Array.from(await scores.argMax(1).data());
      [Xt, Yt, W, b, Q, scores].forEach((t) => t.dispose());
      return pred;
    });
    out.knn.accuracy = await heldOutAccuracy(set, held, async (tx, ty, qx) => {
      const k = self.knnClassifier.create();
      const kept = tx.map((r, i) => { const t = tf.tensor1d(r); k.addExample(t, ty[i]); return t; });
      const pred = [];
      for (const q of qx) { const t = tf.tensor1d(q); pred.push(Number((await k.predictClass(t, 3)).label)); t.dispose(); }
      k.dispose(); kept.forEach((t) => t.dispose());
      return pred;
    });
    res.sets[set.name] = { n: set.n, classes: set.classes, ...out };
    await sleep(0);
  }
  res.numTensorsLeft = tf.memory().numTensors;
  return res;
}

/**
 * legonet's adapter training / forget / predict through its wasm engine (WasmEngine, the npm
 * package's engine), on the same cached encodings as the TF.js suite. Each repetition uses a
 * fresh engine (its creation, which also loads the encoder, is not timed): addMany(all), then
 * trainSome until no adapter is pending = "train"; forget([one id]) (exact: retrains the
 * touched adapters) = "forget"; predict(encoding) = "predict". compare() adds legonet's own
 * KNN baseline (train / forget times).
 */
async function suiteLegonetTrain({ sets = ['photos-243:125', 'photos-243', 'fmnist-2000'], reps = 5, backend = 'cpu',
                                   configs = [{}, { adapters: 64, activated: 1 }, { adapters: 16, activated: 3 }], forgets = 5, queries = 50 } = {}) {
  const mod = await import(LEGONET_JS);
  await mod.default();
  const api = Object.keys(mod);
  if (!mod.WasmEngine) return { available: false, exports: api };
  const weights = await bytes('/weights/efficientnet-lite0.safetensors');
  const res = { available: true, exports: api, backend, reps, sets: {} };
  for (const setName of sets) {
    const set = await trainingSet(setName);
    const sets2 = await (await fetch(`${CACHE}/sets.json`)).json();
    const classNames = sets2[setName.split(':')[0]].classes;
    const encs = Array.from({ length: set.n }, (_, i) => set.x.slice(i * 1280, (i + 1) * 1280));
    const labels = Array.from(set.y, (c) => classNames[c]);
    const ids = labels.map((_, i) => `s${i}`);
    const out = {};
    for (const cfg of configs) {
      // {} is the library's default: (n, k) follow the sample count (crate/src/capacity.rs).
      const key = cfg.adapters == null ? 'default' : `${cfg.adapters}x${cfg.activated}`;
      const train = [], add = [], forget = [], predict = [];
      let first = null, report = null, compare = null, structure = null;
      for (let r = 0; r <= reps; r++) { // r = 0 is the warm-up
        const engine = await mod.WasmEngine.create(weights, backend, { ...cfg, seed: 0 });
        const t0 = performance.now();
        engine.addMany(ids, encs, labels);
        const t1 = performance.now();
        while (engine.pendingAdapters() > 0) engine.trainSome(1 << 30);
        const t2 = performance.now();
        if (r > 0) { add.push(t1 - t0); train.push(t2 - t0); }
        if (r === reps) {
          const { adapters, activated } = engine.stateCounts(); // the trained structure, before any forget
          structure = { adapters, activated };
          const tq = performance.now(); engine.predict(encs[0]); first = performance.now() - tq;
          // Timed as a block, like knn-classifier's (see suiteTfjs).
          const nq = Math.min(queries, set.n - 1);
          for (let rr = 0; rr < 5; rr++) {
            const t = performance.now();
            for (let q = 1; q <= nq; q++) engine.predict(encs[q]);
            predict.push((performance.now() - t) / nq);
          }
          for (let f = 0; f < forgets; f++) {
            const t = performance.now(); report = engine.forget([ids[f]]); forget.push(performance.now() - t);
          }
          try { compare = engine.compare([ids[forgets]]); } catch (e) { compare = { error: String(e?.message ?? e) }; }
        }
        engine.free();
      }
      // Accuracy on held-out encodings (not timed), same configuration and seed.
      const accuracy = await heldOutAccuracy(set, await heldOut(setName), async (tx, ty, qx) => {
        const engine = await mod.WasmEngine.create(weights, backend, { ...cfg, seed: 0 });
        engine.addMany(tx.map((_, i) => `h${i}`), tx, ty.map((c) => classNames[c]));
        while (engine.pendingAdapters() > 0) engine.trainSome(1 << 30);
        const pred = qx.map((q) => classNames.indexOf(engine.predict(q)[0].label));
        engine.free();
        return pred;
      });
      out[key] = { config: cfg, structure, trainMs: median(train), trainRuns: train, addManyMs: median(add), forgetMs: median(forget), forgetRuns: forget,
                   lastForgetReport: report, predictMs: median(predict), firstPredictMs: first, compare, accuracy };
    }
    res.sets[set.name] = { n: set.n, classes: set.classes, configs: out };
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Batch encoding throughput from photo files, decode and preprocessing included: what a user who
// drops a folder of photos waits for. One call = one fresh model or session, a warm-up, and one
// timed pass over every photo; run.mjs interleaves the calls of the different runners in rounds.

let blobCache = null;
async function photoBlobs(photos) {
  const key = photos.map((p) => p.url).join('|');
  if (blobCache?.key !== key) blobCache = { key, blobs: await Promise.all(photos.map(async (p) => (await fetch(p.url)).blob())) };
  return blobCache.blobs;
}

/** legonet's package (pkg/src): `addExamples` of every photo over `lanes` encoding lanes (the
 *  package's default when not given), timed once all its Workers run. */
async function suitePoolPhotos({ photos, lanes, weights = '/weights/efficientnet-lite0-f16.safetensors' }) {
  const { LegoNet } = await import('/pkg/src/index.js');
  const blobs = await photoBlobs(photos);
  const net = await LegoNet.create({ encoderUrl: weights, backend: 'cpu', ...(lanes ? { encoderWorkers: lanes } : {}) });
  try {
    const want = net.encoderWorkers;
    while ((await net.memory()).encoderWorkerBytes.length < want - 1) await sleep(100);
    // Two photos per lane first: every instance's first encode allocates its buffers.
    await net.addExamples(blobs.slice(0, 2 * want).map((image) => ({ image, label: 'warm-up' })));
    const t = performance.now();
    await net.addExamples(blobs.map((image, i) => ({ image, label: photos[i].label })));
    const seconds = (performance.now() - t) / 1000;
    const memory = await net.memory();
    return { env: env(), runner: 'legonet pool', lanes: net.encoderWorkers, photos: photos.length, seconds,
             photosPerSecond: photos.length / seconds, workerWasmBytes: memory.encoderWorkerBytes };
  } finally {
    net.dispose();
  }
}

/** onnxruntime-web on the same photos, as a page would run it: decode (createImageBitmap, the
 *  next photo decoding while this one runs), shorter side to 256 and centre 224 crop in one
 *  canvas draw, (p − 127) / 128 planar, `session.run` for the embedding, one photo at a time
 *  (batch 1 was its faster batch in the encoder rows). */
async function suiteOrtPhotos({ photos, threads = 1 }) {
  const ort = await import(`${NM}/onnxruntime-web/dist/ort.wasm.min.mjs`);
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = `${NM}/onnxruntime-web/dist/`;
  const model = await bytes(`${CACHE}/efficientnet-lite0.onnx`);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const blobs = await photoBlobs(photos);
  const S = 224, plane = S * S;
  const canvas = new OffscreenCanvas(S, S);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  const toInput = (bitmap) => {
    const { width: w, height: h } = bitmap;
    const scale = 256 / Math.min(w, h); // the resized image is w·scale × h·scale; crop its centre
    const side = S / scale;
    ctx.drawImage(bitmap, (w - side) / 2, (h - side) / 2, side, side, 0, 0, S, S);
    const px = ctx.getImageData(0, 0, S, S).data;
    const x = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      x[i] = (px[4 * i] - 127) / 128; x[plane + i] = (px[4 * i + 1] - 127) / 128; x[2 * plane + i] = (px[4 * i + 2] - 127) / 128;
    }
    return x;
  };
  const encodeAll = async (list) => {
    let next = createImageBitmap(list[0]);
    for (let i = 0; i < list.length; i++) {
      const bitmap = await next;
      if (i + 1 < list.length) next = createImageBitmap(list[i + 1]);
      const input = toInput(bitmap);
      bitmap.close();
      const out = await session.run({ input: new ort.Tensor('float32', input, [1, 3, S, S]) }, ['embedding']);
      await out.embedding.getData();
    }
  };
  try {
    await encodeAll(blobs.slice(0, 4));
    const t = performance.now();
    await encodeAll(blobs);
    const seconds = (performance.now() - t) / 1000;
    return { env: env(), runner: 'onnxruntime-web', ortVersion: ort.env.versions?.web ?? null, numThreads: ort.env.wasm.numThreads,
             photos: photos.length, seconds, photosPerSecond: photos.length / seconds };
  } finally {
    await session.release();
  }
}

/** For the CPU profile (run.mjs --profile): a ready encoder and a function that runs it `reps` times. */
window.prepareProfile = async function (backend, batch = 1) {
  const mod = await import(LEGONET_JS);
  await mod.default();
  const enc = await mod.WasmEncoder.create(await bytes('/weights/efficientnet-lite0.safetensors'), backend);
  const input = batchOf(await fixtures(), batch);
  await enc.encodeInput(input);
  window.profileRun = async (reps) => { for (let i = 0; i < reps; i++) await enc.encodeInput(input); };
  return enc.device;
};

window.benchSuite = async function (name, opts = {}) {
  switch (name) {
    case 'legonet': return suiteLegonet(opts);
    case 'ort-wasm': return suiteOrt({ ...opts, ep: 'wasm' });
    case 'ort-webgpu': return suiteOrt({ ...opts, ep: 'webgpu' });
    case 'tfjs': return suiteTfjs(opts);
    case 'legonet-train': return suiteLegonetTrain(opts);
    case 'pool-photos': return suitePoolPhotos(opts);
    case 'ort-photos': return suiteOrtPhotos(opts);
    default: throw new Error(`unknown suite ${name}`);
  }
};
document.getElementById('status').textContent = 'ready';
