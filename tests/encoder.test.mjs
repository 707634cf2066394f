// Browser test of the encoder (issue 3): the wasm build in headless Chromium fetches the weights,
// encodes the shared fixtures on the CPU backend (and on WebGPU when Chromium gives an adapter)
// and meets the oracle bounds: from the fixture input cosine ≥ 0.999 and the same top-5 order;
// from the PNG (browser decode → Rust preprocessing) cosine ≥ 0.995 and the same top-5 set.
// The f32 weights on every backend; the f16 copy (the package's and the demo's default) on the
// default CPU backend under the same bounds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser, SHARED } from './browser.mjs';

const fixtures = JSON.parse(fs.readFileSync(path.join(SHARED, 'encoder-reference/fixtures/fixtures.json'), 'utf8'));
const NAMES = fixtures.photos.map((p) => p.name);
const BENCH_REPS = Number(process.env.LEGONET_BENCH_REPS ?? 3);
let b;

before(async () => {
  b = await openBrowser();
  await b.page.goto(`${b.server.url}/tests/pages/encoder.html`);
  await b.page.waitForFunction(() => typeof window.legonetCheck === 'function');
});
after(async () => { await b?.close(); });

function checkBounds(out, weightsFile = 'efficientnet-lite0.safetensors') {
  for (const r of out.results) {
    console.log(`[${out.backend}, ${weightsFile}] ${r.name}: input cosine ${r.input.cosine.toFixed(6)} max-abs-diff ${r.input.maxAbsDiff.toExponential(2)}; ` +
      `png cosine ${r.png.cosine.toFixed(6)} max-abs-diff ${r.png.maxAbsDiff.toExponential(2)}; top-1 ${r.png.labels[0]}`);
    assert.ok(r.input.cosine >= 0.999, `${r.name}: fixture-input cosine ${r.input.cosine}`);
    assert.deepEqual(r.input.top5, r.want.top5, `${r.name}: top-5 order`);
    assert.ok(r.png.cosine >= 0.995, `${r.name}: png cosine ${r.png.cosine}`);
    assert.deepEqual([...r.png.top5].sort(), [...r.want.top5].sort(), `${r.name}: top-5 set`);
  }
  assert.equal(out.badInput?.code, 'INVALID_IMAGE', 'a 1×1 image is rejected with a typed error');
  assert.equal(out.badInput?.name, 'LegoNetError');
  assert.match(out.encoderId, /^[0-9a-f]{64}$/);
  const expectedId = fs.readFileSync(path.join(import.meta.dirname, `../weights/${weightsFile}.sha256`), 'utf8').trim();
  assert.equal(out.encoderId, expectedId, 'encoder id = SHA-256 of the served weight file');
}

function printBench(out) {
  if (out.bench.batch1 !== undefined) {
    console.log(`BENCH browser ${out.backend} (${out.device}): batch 1 ${out.bench.batch1.toFixed(1)} ms/image, ` +
      `batch 8 ${out.bench.batch8.toFixed(1)} ms/image, load ${out.loadMs.toFixed(0)} ms`);
  }
}

// ndarray (burn's deprecated CPU backend) is native-only: the test wasm is the WebGPU wasm plus
// `WasmEncoder` (tests/wasm/), so that building it recompiles only the legonet crate.
for (const backend of ['cpu', 'flex']) {
  test(`encoder matches the oracle in Chromium on the CPU (${backend})`, { timeout: 300_000 }, async () => {
    const out = await b.page.evaluate(([be, n, reps]) => window.legonetCheck(be, n, { benchReps: reps }), [backend, NAMES, BENCH_REPS]);
    checkBounds(out);
    printBench(out);
  });
}

test('a backend the wasm was built without is refused with BACKEND', async () => {
  const err = await b.page.evaluate(() => window.createError('ndarray'));
  assert.equal(err?.name, 'LegoNetError');
  assert.equal(err?.code, 'BACKEND');
  assert.match(err.message, /not in this build \(cargo feature `ndarray`\)/);
});

test('the f16 weights (the shipped default) match the oracle in Chromium on the CPU', { timeout: 300_000 }, async () => {
  const weightsFile = 'efficientnet-lite0-f16.safetensors';
  const out = await b.page.evaluate(([n, w]) => window.legonetCheck('cpu', n, { weightsFile: w }), [NAMES, weightsFile]);
  checkBounds(out, weightsFile);
});

test('encoder matches the oracle in Chromium on WebGPU when an adapter exists', { timeout: 600_000 }, async (t) => {
  const adapter = await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())));
  if (!adapter) return t.skip('navigator.gpu gives no adapter here');
  // One fixture on WebGPU: the adapter here is a software one (SwiftShader), ~10× slower than CPU.
  const out = await b.page.evaluate(([n]) => window.legonetCheck('wgpu', n, { benchReps: 1 }), [NAMES.slice(0, 1)]);
  console.log(`WebGPU adapter: ${JSON.stringify(out.adapter)}; burn device: ${out.device}`);
  checkBounds(out);
  printBench(out);
});
