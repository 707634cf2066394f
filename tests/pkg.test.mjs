// Browser tests of the npm package (issue 5) in headless Debian Chromium: the scenarios of
// tests/scenarios.mjs (Firefox runs the same ones, tests/firefox.test.mjs) on the CPU always and
// on WebGPU where Chromium gives an adapter; and which of the package's two wasm files each
// backend fetches (README, "Two wasm files"), read from the server's log of every request; and
// 'auto' on a real adapter (SwiftShader presented as one): the measuring, and its fallbacks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { coreFlow, abortedTrain } from './scenarios.mjs';

const CPU_WASM = '/pkg/wasm/legonet_bg.wasm';
/** The WebGPU wasm's glue or binary. */
const WEBGPU = /\/pkg\/wasm\/legonet_webgpu/;

let b;

before(async () => { b = await openBrowser(); });
after(async () => { await b?.close(); });

/** The paths the server answered since `from` (an index into its log). */
const servedSince = (from) => b.served.slice(from).map((e) => e.url.split('?')[0]);

test("'auto' with no real GPU runs the CPU wasm and never requests the WebGPU wasm", { timeout: 300_000 }, async () => {
  // First in this fresh browser: nothing is cached, and the server answers with no-store anyway,
  // so every file the engine and its encoder Workers use is in the log.
  const from = b.served.length;
  await b.page.goto(`${b.server.url}/tests/pages/pkg.html`);
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  const backend = await b.page.evaluate(async () => {
    const net = await window.legonet.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', encoderWorkers: 2 });
    // The encoder Worker starts in the background: wait for it (a minute at most), then let it encode.
    let workers = 0;
    for (const until = Date.now() + 60_000; workers < 1 && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      workers = (await net.memory()).encoderWorkerBytes.length;
    }
    await net.addExamples([{ image: new ImageData(64, 64), label: 'grey' }, { image: new ImageData(64, 64), label: 'grey' }]);
    const info = net.backend;
    net.dispose();
    return { ...info, workers };
  });
  console.log(`[auto] ${JSON.stringify(backend)}`);
  assert.equal(backend.workers, 1, 'the encoder Worker started');
  assert.equal(backend.kind, 'cpu');
  // Headless Chromium's only adapter (with --enable-unsafe-webgpu) is SwiftShader, a fallback.
  assert.ok(backend.adapter === null || backend.adapter.isFallbackAdapter, 'no real adapter here');
  const served = servedSince(from);
  // Once: the engine compiles it and hands the Module to its encoder Worker (pool.js).
  assert.equal(served.filter((u) => u === CPU_WASM).length, 1, `the CPU wasm was fetched once (${served.join(' ')})`);
  assert.deepEqual(served.filter((u) => WEBGPU.test(u)), [], 'nothing of the WebGPU wasm was requested');
});

test("'auto' with a real adapter measures both engines and keeps the faster, twice on one page; a WebGPU wasm that does not load falls back to the CPU", { timeout: 900_000 }, async (t) => {
  // No real GPU here: SwiftShader is presented as one (its adapter with isFallbackAdapter false)
  // to an engine on this page's thread, so 'auto' takes the path it takes on a real GPU.
  await b.page.goto(`${b.server.url}/tests/pages/pkg.html`);
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  if (!(await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter()))))) {
    t.skip('no WebGPU adapter in this Chromium');
    return;
  }
  const run = async (extra) => {
    const from = b.served.length;
    const backend = await b.page.evaluate(async (extra) => {
      const real = navigator.gpu.requestAdapter;
      navigator.gpu.requestAdapter = async function (...args) {
        const adapter = await real.apply(this, args);
        if (adapter) {
          Object.defineProperty(adapter, 'isFallbackAdapter', { value: false });
          Object.defineProperty(adapter, 'info', { value: new Proxy(adapter.info, { get: (o, k) => (k === 'isFallbackAdapter' ? false : Reflect.get(o, k)) }) });
        }
        return adapter;
      };
      try {
        const net = await window.legonet.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', worker: false, encoderWorkers: 1, ...extra });
        const img = new ImageData(64, 64);
        await net.addExamples([{ image: img, label: 'a' }, { image: img, label: 'b' }]);
        await net.train();
        const label = (await net.predict(img))[0].label;
        const info = net.backend;
        net.dispose();
        return { ...info, label };
      } finally {
        navigator.gpu.requestAdapter = real;
      }
    }, extra);
    return { backend, served: servedSince(from) };
  };

  const measured = await run({});
  console.log(`[auto, adapter presented as real] ${JSON.stringify(measured.backend)}`);
  assert.equal(measured.backend.adapter.isFallbackAdapter, false);
  assert.match(measured.backend.reason, /^warm-up encode: webgpu \d+\.\d ms, cpu \d+\.\d ms$/);
  const [gpuMs, cpuMs] = measured.backend.reason.match(/\d+\.\d/g).map(Number);
  assert.equal(measured.backend.kind, gpuMs < cpuMs ? 'webgpu' : 'cpu', 'the faster one is kept');
  assert.ok(['a', 'b'].includes(measured.backend.label));
  assert.ok(measured.served.includes('/pkg/wasm/legonet_webgpu_bg.wasm'), 'a real adapter loads the WebGPU wasm');
  assert.ok(!measured.served.includes(CPU_WASM), 'both candidates run in the WebGPU wasm: the CPU wasm is not fetched as well');

  // A second WebGPU engine on the same page: burn keeps one wgpu runtime per device for the
  // whole wasm instance, and setting it up again failed ("a server is still registered").
  const again = await run({});
  assert.match(again.backend.reason, /^warm-up encode: webgpu /, 'the second engine ran on WebGPU too');

  // A fresh page (the WebGPU glue not yet initialised), whose WebGPU wasm does not load.
  await b.page.reload();
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  const fallback = await run({ webgpuWasmUrl: '/no/such/legonet_webgpu_bg.wasm' });
  console.log(`[auto, WebGPU wasm missing] ${JSON.stringify(fallback.backend)}`);
  assert.equal(fallback.backend.kind, 'cpu');
  assert.match(fallback.backend.reason, /^the WebGPU wasm could not be loaded: /);
  assert.ok(['a', 'b'].includes(fallback.backend.label));
  assert.ok(fallback.served.includes('/no/such/legonet_webgpu_bg.wasm'), 'it tried the WebGPU wasm first');
});

for (const backend of ['cpu', 'webgpu']) {
  // Chromium coarsens performance.now() to 0.1 ms without cross-origin isolation.
  test(`package end to end on ${backend}`, { timeout: 900_000 }, async (t) => {
    const from = b.served.length;
    await coreFlow(b, t, { backend, clockStep: 0.1 });
    const served = servedSince(from);
    if (backend === 'cpu') assert.deepEqual(served.filter((u) => WEBGPU.test(u)), [], 'the CPU backend never requests the WebGPU wasm');
    else if (await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())))) {
      assert.ok(served.includes('/pkg/wasm/legonet_webgpu_bg.wasm'), `'webgpu' runs the WebGPU wasm (${served.join(' ')})`);
    }
  });
}

test('an aborted train leaves the previous model usable and unchanged', { timeout: 600_000 }, () => abortedTrain(b));
