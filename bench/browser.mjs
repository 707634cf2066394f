// In-browser benchmark of the npm package (prints, asserts nothing): per backend, encoder
// ms/image (addExamples of real photos), train ms, single-sample and 10-sample forget ms
// (median over repeated deletions), verify ms; plus the package's size (wasm raw and gzip).
// Run: `node bench/browser.mjs [out.json]` after `./dev test`, which builds pkg/wasm and the
// datasets it needs (`./dev setup` builds no datasets).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { openBrowser, datasetPhotos } from '../tests/browser.mjs';

const CLASSES = ['animals', 'fish', 'monuments', 'tools', 'renewable_energy', 'household_objects'];
const PER_CLASS = Number(process.env.LEGONET_BENCH_PER_CLASS ?? 12);
const root = path.resolve(import.meta.dirname, '..');
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const p95 = (v) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * 0.95))];

function packageSize() {
  const wasm = fs.readFileSync(path.join(root, 'pkg/wasm/legonet_bg.wasm'));
  // Every module of pkg/src, listed from the folder so a new one is counted too.
  const src = fs.readdirSync(path.join(root, 'pkg/src')).filter((f) => f.endsWith('.js')).map((f) => `pkg/src/${f}`);
  const js = ['pkg/wasm/legonet.js', ...src].map((f) => fs.readFileSync(path.join(root, f)));
  const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
  return {
    wasmRaw: wasm.length, wasmGzip: gz(wasm),
    jsRaw: js.reduce((s, b) => s + b.length, 0), jsGzip: js.reduce((s, b) => s + gz(b), 0),
  };
}

const { train } = datasetPhotos(CLASSES, { train: PER_CLASS, heldOut: 0 });
const b = await openBrowser();
const results = { photos: train.length, backends: [], size: packageSize(), date: new Date().toISOString() };
try {
  await b.page.goto(`${b.server.url}/bench/browser.html`);
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  const hasGpu = await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())));
  for (const backend of hasGpu ? ['cpu', 'webgpu'] : ['cpu']) {
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
      const out = { backend: net.backend, createMs, encodeMsPerImage: encodeMs, trainMs, trainReport, forget1, replayed, forget10, verifyMs, verifyOk: verify.ok, memory: await net.memory() };
      net.dispose();
      return out;
    }, { backend, photos });
    results.backends.push(r);
    console.log(`\n[${backend}] ${r.backend.kind}/${r.backend.name}${r.backend.adapter ? ` adapter ${JSON.stringify(r.backend.adapter)}` : ''}`);
    console.log(`  create ${r.createMs.toFixed(0)} ms | encode ${r.encodeMsPerImage.toFixed(1)} ms/image | train ${r.trainMs.toFixed(1)} ms (${r.trainReport.adaptersTrained} adapters, ${r.trainReport.samplesReplayed} samples)`);
    console.log(`  forget 1: median ${median(r.forget1).toFixed(2)} ms, p95 ${p95(r.forget1).toFixed(2)} ms over ${r.forget1.length} (median ${median(r.replayed)} samples replayed; core time, storage not bound)`);
    if (r.forget10.length) console.log(`  forget 10: median ${median(r.forget10).toFixed(2)} ms | verify ${r.verifyMs.toFixed(1)} ms ok=${r.verifyOk}`);
  }
} finally {
  await b.close();
}
const s = results.size;
const mb = (n) => (n / 1e6).toFixed(2);
console.log(`\npackage size: wasm ${mb(s.wasmRaw)} MB raw, ${mb(s.wasmGzip)} MB gzip -9; JS ${(s.jsRaw / 1e3).toFixed(0)} kB raw, ${(s.jsGzip / 1e3).toFixed(0)} kB gzip (weights excluded)`);
if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(results, null, 2));
