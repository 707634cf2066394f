// In-browser benchmark of the npm package (prints, asserts nothing): per backend, encoder
// ms/image (addExamples of real photos), train ms, single-sample and 10-sample forget ms
// (median over repeated deletions), verify ms; the CPU encode throughput of addExamples with
// 1, 2 and 4 encoder Workers (200 photos, page not cross-origin isolated) and what each extra
// Worker costs in memory; the cold start to the first prediction (coldStart below); plus the
// package's size (each wasm, the JS and the weights, raw and gzip).
// Run: `node bench/browser.mjs [out.json]` after `./dev test`, which builds pkg/wasm and the
// datasets it needs (`./dev setup` builds no datasets).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { openBrowser, datasetPhotos, DATASETS } from '../tests/browser.mjs';

const CLASSES = ['animals', 'fish', 'monuments', 'tools', 'renewable_energy', 'household_objects'];
const PER_CLASS = Number(process.env.LEGONET_BENCH_PER_CLASS ?? 12);
const root = path.resolve(import.meta.dirname, '..');
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const p95 = (v) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * 0.95))];

/** Raw and gzip -9 bytes of what the package ships: each wasm, the JS (pkg/src and both wasm
 *  glues), and the weights an app fetches. */
function packageSize() {
  const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
  const size = (files) => {
    const data = files.map((f) => fs.readFileSync(path.join(root, f)));
    return { raw: data.reduce((s, b) => s + b.length, 0), gzip: data.reduce((s, b) => s + gz(b), 0) };
  };
  // Every module of pkg/src, listed from the folder so a new one is counted too.
  const src = fs.readdirSync(path.join(root, 'pkg/src')).filter((f) => f.endsWith('.js')).map((f) => `pkg/src/${f}`);
  return {
    cpuWasm: size(['pkg/wasm/legonet_bg.wasm']),
    webgpuWasm: size(['pkg/wasm/legonet_webgpu_bg.wasm']),
    js: size([...src, 'pkg/wasm/legonet.js']),
    webgpuGlue: size(['pkg/wasm/legonet_webgpu.js']),
    // The shipped default (the npm weights package, the demo) and the f32 file it was rounded from.
    weights: size(['weights/efficientnet-lite0-f16.safetensors']),
    weightsF32: size(['weights/efficientnet-lite0.safetensors']),
  };
}

function printSize(s) {
  const mb = ({ raw, gzip }) => `${(raw / 1e6).toFixed(2)} MB raw, ${(gzip / 1e6).toFixed(2)} MB gzip -9`;
  const kb = ({ raw, gzip }) => `${(raw / 1e3).toFixed(0)} kB raw, ${(gzip / 1e3).toFixed(0)} kB gzip -9`;
  console.log(`\npackage size: CPU wasm ${mb(s.cpuWasm)}; WebGPU wasm ${mb(s.webgpuWasm)} (fetched only where WebGPU may run);`
    + ` JS ${kb(s.js)} (+ WebGPU glue ${kb(s.webgpuGlue)}); weights (f16, shipped) ${mb(s.weights)}, f32 ${mb(s.weightsF32)}`);
  const cpuVisit = { raw: s.cpuWasm.raw + s.js.raw + s.weights.raw, gzip: s.cpuWasm.gzip + s.js.gzip + s.weights.gzip };
  console.log(`  a visit without a real GPU fetches CPU wasm + JS + weights: ${mb(cpuVisit)} (the page itself excluded)`);
}

const THROUGHPUT_PHOTOS = Number(process.env.LEGONET_BENCH_THROUGHPUT ?? 200);
// LEGONET_BENCH_ONLY=throughput runs only the encoder-Worker throughput (minutes less).
const ONLY_THROUGHPUT = process.env.LEGONET_BENCH_ONLY === 'throughput';
const LANES = [1, 2, 4];
// Rounds per lane count, interleaved (1, 2, 4, 1, 2, 4, …): a single run of the 1-lane baseline
// varied from 18.5 to 20.8 photos/s on the 2-core machine, so the medians are reported.
const ROUNDS = Number(process.env.LEGONET_BENCH_ROUNDS ?? 3);

/** The first THROUGHPUT_PHOTOS of gcompris-photos by file name (every class, 320 px to full HD). */
function throughputPhotos() {
  const manifest = JSON.parse(fs.readFileSync(path.join(DATASETS, 'gcompris-photos/manifest.json'), 'utf8'));
  return manifest.entries.map((e) => ({ url: `/datasets/gcompris-photos/${e.file}`, label: e.class }))
    .sort((x, y) => (x.url < y.url ? -1 : 1)).slice(0, THROUGHPUT_PHOTOS);
}

/** The browser's process and all its children (Linux /proc), found by its profile folder. */
function browserPids(profile) {
  const procs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return { pid, ppid: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1], cmd: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') };
    } catch { return null; }
  }).filter(Boolean);
  const tree = new Set(procs.filter((p) => p.cmd.includes(profile)).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!tree.has(p.pid) && tree.has(p.ppid)) { tree.add(p.pid); grew = true; }
  }
  return [...tree];
}
const readOr = (file, fallback) => { try { return fs.readFileSync(file, 'utf8'); } catch { return fallback; } };

/** Proportional set size of those processes: what the Workers really cost, compiled code and JS
 *  heaps included, not only their wasm memory. */
const pss = (pids) => 1024 * pids.reduce((s, pid) => s + Number(/^Pss:\s+(\d+)/m.exec(readOr(`/proc/${pid}/smaps_rollup`, ''))?.[1] ?? 0), 0);

/** CPU seconds those processes have used (utime + stime, at the usual 100 ticks/s), and the
 *  whole machine's busy seconds (/proc/stat), to tell what else ran meanwhile. */
function cpu(pids) {
  const ticks = (pid) => { const f = readOr(`/proc/${pid}/stat`, ''); const v = f.slice(f.lastIndexOf(')') + 2).split(' '); return Number(v[11] ?? 0) + Number(v[12] ?? 0); };
  const [, ...t] = readOr('/proc/stat', 'cpu 0').split('\n')[0].trim().split(/\s+/).map(Number);
  return { browser: pids.reduce((s, pid) => s + ticks(pid), 0) / 100, machine: (t.reduce((a, b) => a + b, 0) - t[3] - (t[4] ?? 0)) / 100 };
}

/** photos/s of one addExamples of every photo at each lane count, the cores it kept busy, and the
 *  memory of the Workers. */
async function throughput(b) {
  const photos = throughputPhotos();
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) for (const lanes of LANES) {
    await b.page.goto(`${b.server.url}/bench/browser.html`);
    await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
    const pssBefore = pss(browserPids(b.profile));
    await b.page.evaluate(async ({ lanes, photos }) => {
      const { LegoNet } = window.legonet;
      window.net = await LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu', encoderWorkers: lanes });
      // The extra Workers start in the background; time only once all of them run.
      while ((await window.net.memory()).encoderWorkerBytes.length < lanes - 1) await new Promise((r) => setTimeout(r, 100));
      window.blobs = await Promise.all(photos.map(async (p) => (await fetch(p.url)).blob()));
      // Two photos per lane first: every instance's first encode allocates its buffers.
      await window.net.addExamples(window.blobs.slice(0, 2 * lanes).map((image) => ({ image, label: 'warm-up' })));
    }, { lanes, photos });
    const pids = browserPids(b.profile);
    const cpu0 = cpu(pids);
    const r = await b.page.evaluate(async ({ photos }) => {
      const net = window.net;
      const t = performance.now();
      await net.addExamples(window.blobs.map((image, i) => ({ image, label: photos[i].label })));
      const s = (performance.now() - t) / 1000;
      const memory = await net.memory();
      return { lanes: net.encoderWorkers, photos: photos.length, seconds: s, photosPerSecond: photos.length / s,
               engineWasmBytes: memory.wasmBytes, workerWasmBytes: memory.encoderWorkerBytes, cores: navigator.hardwareConcurrency,
               crossOriginIsolated: self.crossOriginIsolated };
    }, { photos });
    const cpu1 = cpu(pids);
    r.browserCores = (cpu1.browser - cpu0.browser) / r.seconds; // includes the page, Node is outside
    r.otherCores = Math.max(0, (cpu1.machine - cpu0.machine) / r.seconds - r.browserCores);
    r.pss = pss(pids) - pssBefore; // the engine, its Workers and the batch's blobs
    await b.page.evaluate(() => { window.net.dispose(); window.blobs = null; });
    runs.push(r);
  }
  const rows = LANES.map((lanes) => {
    const mine = runs.filter((r) => r.lanes === lanes);
    const pick = (key) => median(mine.map((r) => r[key]));
    return {
      ...mine[0], rounds: mine.length, seconds: pick('seconds'), photosPerSecond: pick('photosPerSecond'),
      range: [Math.min(...mine.map((r) => r.photosPerSecond)), Math.max(...mine.map((r) => r.photosPerSecond))],
      browserCores: pick('browserCores'), otherCores: Math.max(...mine.map((r) => r.otherCores)), pss: pick('pss'),
      workerWasmBytes: mine.at(-1).workerWasmBytes,
    };
  });
  const base = rows[0];
  const mb = (n) => (n / 2 ** 20).toFixed(0);
  console.log(`\nencode throughput, ${base.photos} gcompris-photos, backend cpu, ${base.cores} cores, crossOriginIsolated ${base.crossOriginIsolated}, ${os.cpus()[0]?.model}; median of ${ROUNDS} rounds:`);
  for (const r of rows) {
    console.log(`  ${r.lanes} encoder Worker${r.lanes === 1 ? ' ' : 's'}: ${r.photosPerSecond.toFixed(1)} photos/s [${r.range.map((v) => v.toFixed(1)).join('–')}] (${(r.seconds * 1000 / r.photos).toFixed(1)} ms/photo, ${(r.photosPerSecond / base.photosPerSecond).toFixed(2)}x)`
      + ` | browser kept ${r.browserCores.toFixed(2)} cores busy (everything else at most ${r.otherCores.toFixed(2)})`
      + ` | wasm: engine ${mb(r.engineWasmBytes)} MiB, Workers ${r.workerWasmBytes.map(mb).join(', ') || '-'} MiB | browser PSS +${mb(r.pss)} MiB`);
  }
  for (const r of rows.slice(1)) {
    console.log(`  memory per extra Worker (PSS vs 1 Worker): ${mb((r.pss - base.pss) / (r.lanes - 1))} MiB at ${r.lanes} Workers`);
  }
  return rows;
}

/**
 * Cold start (issue 15): from a fresh page to its first prediction, in a fresh profile (empty
 * HTTP cache, Cache API and OPFS: "cold") and then again in the same profile ("warm": the weights
 * in the Cache API, where the package keeps them; this server sends no-store, so the wasm and the
 * page's code are downloaded again, from loopback). A first prediction needs a trained model: a
 * snapshot (3 classes, 4 photos each) is made beforehand in another profile and imported, as an
 * app restoring a model would. Two measures per visit, each in its own profile:
 * 1. through the package (`LegoNet.import(snapshot)` with its defaults: `backend: 'auto'`, the
 *    encoder Workers), then `predict(photo)`: navigation to prediction, as an app sees it;
 * 2. the same steps called one by one on bench/coldstart.html (the engine Worker's calls, CPU
 *    wasm): download (wasm and weights at once), compile, instantiate, weight load (parse, BN
 *    folding, packing, keys), snapshot import, first encode (decode + encode + predict).
 */
async function coldStart() {
  const { train: snap, heldOut } = datasetPhotos(['animals', 'monuments', 'tools'], { train: 4, heldOut: 1 });
  const photo = heldOut[0].url;
  const weightsUrl = '/weights/efficientnet-lite0-f16.safetensors'; // the shipped default
  const maker = await openBrowser();
  let snapshot;
  try {
    await maker.page.goto(`${maker.server.url}/bench/browser.html`);
    await maker.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
    snapshot = await maker.page.evaluate(async ({ snap, weightsUrl }) => {
      const net = await window.legonet.LegoNet.create({ encoderUrl: weightsUrl, backend: 'cpu' });
      await net.addExamples(await Promise.all(snap.map(async (p) => ({ image: await (await fetch(p.url)).blob(), label: p.label }))));
      await net.train();
      const bytes = await net.export();
      net.dispose();
      let bin = '';
      for (const x of bytes) bin += String.fromCharCode(x);
      return btoa(bin);
    }, { snap, weightsUrl });
  } finally {
    await maker.close();
  }
  const rows = { package: [], steps: [] };
  const pkg = await openBrowser();
  try {
    for (const visit of ['cold', 'warm']) {
      const t0 = Date.now();
      await pkg.page.goto(`${pkg.server.url}/bench/browser.html`);
      await pkg.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
      const r = await pkg.page.evaluate(async ({ photo, weightsUrl, snapshot }) => {
        const { LegoNet } = window.legonet;
        const t = performance.now();
        const net = await LegoNet.import(Uint8Array.from(atob(snapshot), (c) => c.charCodeAt(0)), { encoderUrl: weightsUrl });
        const createMs = performance.now() - t;
        const prediction = await net.predict(await (await fetch(photo)).blob());
        const out = { createMs, sinceNavigation: performance.now(), backend: net.backend.kind, top: prediction[0] };
        net.dispose();
        return out;
      }, { photo, weightsUrl, snapshot });
      rows.package.push({ visit, ...r, wallMs: Date.now() - t0 });
    }
  } finally {
    await pkg.close();
  }
  const steps = await openBrowser();
  try {
    for (const visit of ['cold', 'warm']) {
      await steps.page.goto(`${steps.server.url}/bench/coldstart.html`);
      await steps.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
      rows.steps.push({ visit, ...(await steps.page.evaluate((a) => window.coldStart(a), { photo, weightsUrl, snapshot })) });
    }
  } finally {
    await steps.close();
  }
  console.log(`\ncold start to the first prediction (headless Chromium, loopback, ${os.cpus().length} cores; photo ${photo}):`);
  for (const r of rows.package) {
    console.log(`  package, ${r.visit}: ${r.sinceNavigation.toFixed(0)} ms from navigation (LegoNet.import ${r.createMs.toFixed(0)} ms, backend ${r.backend}); predicted ${JSON.stringify(r.top)}`);
  }
  for (const r of rows.steps) {
    const m = r.ms;
    console.log(`  steps, ${r.visit}: ${m.sinceNavigation.toFixed(0)} ms from navigation = page ${(m.sinceNavigation - m.download - m.compile - m.instantiate - m.weightLoad - m.snapshotImport - m.firstEncode).toFixed(0)}`
      + ` + download ${m.download.toFixed(0)} (wasm ${(r.wasmBytes / 1e6).toFixed(2)} MB ${m.wasmDownload.toFixed(0)}, weights ${(r.weightsBytes / 1e6).toFixed(2)} MB ${m.weightsDownload.toFixed(0)}${r.weightsFromCache ? ' from the Cache API' : ''})`
      + ` + compile ${m.compile.toFixed(0)} + instantiate ${m.instantiate.toFixed(0)} + weight load ${m.weightLoad.toFixed(0)} + snapshot import ${m.snapshotImport.toFixed(1)} + first encode ${m.firstEncode.toFixed(0)} ms`);
  }
  return rows;
}

// LEGONET_BENCH_ONLY=coldstart runs only the cold start.
if (process.env.LEGONET_BENCH_ONLY === 'coldstart') {
  const rows = await coldStart();
  if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify({ coldStart: rows, size: packageSize(), date: new Date().toISOString() }, null, 2));
  printSize(packageSize());
  process.exit(0);
}

const { train } = datasetPhotos(CLASSES, { train: PER_CLASS, heldOut: 0 });
const b = await openBrowser();
const results = { photos: train.length, backends: [], size: packageSize(), date: new Date().toISOString() };
try {
  await b.page.goto(`${b.server.url}/bench/browser.html`);
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  const hasGpu = await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())));
  for (const backend of ONLY_THROUGHPUT ? [] : hasGpu ? ['cpu', 'webgpu'] : ['cpu']) {
    // SwiftShader (software WebGPU) is ~10x slower than the CPU path: a few photos suffice there.
    const photos = backend === 'cpu' ? train : train.filter((_, i) => i % PER_CLASS < 2);
    const r = await b.page.evaluate(async ({ backend, photos }) => {
      const { LegoNet } = window.legonet;
      const t0 = performance.now();
      const net = await LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend });
      const createMs = performance.now() - t0;
      const blobs = await Promise.all(photos.map(async (p) => (await fetch(p.url)).blob()));
      const items = blobs.map((image, i) => ({ image, label: photos[i].label }));
      await net.addExamples(items.slice(0, 1)); // warm-up (shader compilation on WebGPU)
      const t1 = performance.now();
      const ids = [...(await net.addExamples(items.slice(1)))];
      const encodeMs = (performance.now() - t1) / (items.length - 1);
      const t2 = performance.now();
      const trainReport = await net.train();
      const trainMs = performance.now() - t2;
      const forget1 = [];
      const replayed = [];
      for (let i = 0, n = Math.min(20, ids.length >> 1); i < n; i++) {
        const rep = await net.forget(ids.pop());
        forget1.push(rep.ms);
        replayed.push(rep.samplesReplayed);
      }
      const forget10 = [];
      for (let i = 0; i < 2 && ids.length > 20; i++) forget10.push((await net.forget(ids.splice(-10))).ms);
      const t3 = performance.now();
      const verify = await net.verify();
      const verifyMs = performance.now() - t3;
      const out = { backend: net.backend, encoderWorkers: net.encoderWorkers, createMs, encodeMsPerImage: encodeMs, trainMs, trainReport, forget1, replayed, forget10, verifyMs, verifyOk: verify.ok, memory: await net.memory() };
      net.dispose();
      return out;
    }, { backend, photos });
    results.backends.push(r);
    console.log(`\n[${backend}] ${r.backend.kind}/${r.backend.name}${r.backend.adapter ? ` adapter ${JSON.stringify(r.backend.adapter)}` : ''}`);
    console.log(`  create ${r.createMs.toFixed(0)} ms | encode ${r.encodeMsPerImage.toFixed(1)} ms/image (${r.encoderWorkers} encoder Worker${r.encoderWorkers === 1 ? '' : 's'}, the default) | train ${r.trainMs.toFixed(1)} ms (${r.trainReport.adaptersTrained} adapters, ${r.trainReport.samplesReplayed} samples)`);
    console.log(`  forget 1: median ${median(r.forget1).toFixed(2)} ms, p95 ${p95(r.forget1).toFixed(2)} ms over ${r.forget1.length} (median ${median(r.replayed)} samples replayed; core time, storage not bound)`);
    if (r.forget10.length) console.log(`  forget 10: median ${median(r.forget10).toFixed(2)} ms | verify ${r.verifyMs.toFixed(1)} ms ok=${r.verifyOk}`);
  }
  results.throughput = await throughput(b);
} finally {
  await b.close();
}
if (!ONLY_THROUGHPUT) results.coldStart = await coldStart();
printSize(results.size);
if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(results, null, 2));
