// Parallel encoding (issue 17, pkg/src/pool.js) in headless Chromium, on a page that is not
// cross-origin isolated: the same photos (Blobs and ImageBitmaps) added with encoderWorkers 1, 2
// and 3 give the same ids, routing and export() bytes, and each extra Worker really encoded some
// of them; a batch with an undecodable photo fails with the same INVALID_IMAGE and index at
// every lane count and leaves the model as it was; abort does too; no request once create()
// resolved (the Workers fetch their files before); no encoder Worker on WebGPU;
// an engine on the main thread (worker: false) stops its Workers on dispose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, datasetPhotos } from './browser.mjs';

const { train: PHOTOS } = datasetPhotos(['animals', 'monuments', 'tools'], { train: 5, heldOut: 0 });
const OPTS = { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' };
let b;

before(async () => { b = await openBrowser(); });
after(async () => { await b?.close(); });

async function openPage() {
  await b.page.goto(`${b.server.url}/tests/pages/pkg.html`);
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
}
const inPage = (fn, args) => b.page.evaluate(`(${fn})(window.legonet, ${JSON.stringify(args ?? null)})`);
const encoderWorkers = () => b.page.workers().filter((w) => w.url().endsWith('/encoder-worker.js'));

/** Waits until `n` encoder Workers have started (memory() lists each started one). */
async function whenStarted(n) {
  for (const t = Date.now(); Date.now() - t < 180_000;) {
    const started = await inPage(async () => (await window.net.memory()).encoderWorkerBytes.length);
    if (started === n) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${n} encoder Workers did not start`);
}

/** Counts, inside each encoder Worker, the encodings it sends back (test-side instrumentation:
 *  the Worker answers on the port the page connected it to, or on its own scope when started
 *  directly; both resolve to these wrappers at call time). */
async function countReplies() {
  for (const w of encoderWorkers()) {
    await w.evaluate(() => {
      self.replies = 0;
      const count = (msg) => { if (msg?.encoding) self.replies += 1; };
      const post = self.postMessage.bind(self);
      self.postMessage = (msg, transfer) => { count(msg); post(msg, transfer); };
      const portPost = MessagePort.prototype.postMessage;
      MessagePort.prototype.postMessage = function (msg, transfer) { count(msg); return portPost.call(this, msg, transfer); };
    });
  }
}
const replies = () => Promise.all(encoderWorkers().map((w) => w.evaluate(() => self.replies)));

/** Everything one lane count gives for the same inputs. */
async function run(lanes) {
  await openPage();
  await inPage(async (L, { lanes, opts }) => {
    window.net = await L.LegoNet.create({ ...opts, encoderWorkers: lanes });
  }, { lanes, opts: OPTS });
  const requestsAtCreate = b.requests.length;
  await whenStarted(lanes - 1);
  // The package makes no request once create() resolved: the Workers fetched their files before.
  assert.deepEqual(b.requests.slice(requestsAtCreate), [], 'no request after create()');
  await countReplies();
  return inPage(async (L, { photos }) => {
    const net = window.net;
    const blobs = await Promise.all(photos.map((p) => window.fetchBlob(p.url)));
    // Two of them as pixels (ImageData → an ImageBitmap on the wire), the rest as Blobs.
    const pixels = async (blob) => {
      const bmp = await createImageBitmap(blob);
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      c.getContext('2d').drawImage(bmp, 0, 0);
      return c.getContext('2d').getImageData(0, 0, bmp.width, bmp.height);
    };
    const items = await Promise.all(photos.map(async (p, i) => ({
      image: i % 7 === 3 ? await pixels(blobs[i]) : blobs[i], label: p.label, id: `photo-${i}`,
    })));
    const empty = await window.sha256(await net.export());
    const outcome = async (f) => { try { await f(); return null; } catch (e) { return { code: e.code, name: e.name, message: e.message }; } };

    // An undecodable photo at index 6 and an empty one at 11: the first by index is reported.
    const bad = items.map((it, i) => (i === 6 ? { ...it, image: new Blob(['not an image'], { type: 'image/png' }) }
      : i === 11 ? { ...it, image: new Blob([], { type: 'image/png' }) } : it));
    const failed = await outcome(() => net.addExamples(bad));
    const afterFail = { examples: net.examples().length, same: (await window.sha256(await net.export())) === empty };

    const controller = new AbortController();
    const aborted = await outcome(() => net.addExamples(items, { signal: controller.signal, onProgress: () => controller.abort() }));
    const afterAbort = { examples: net.examples().length, same: (await window.sha256(await net.export())) === empty };

    const progress = [];
    const t = performance.now();
    const ids = await net.addExamples(items, { onProgress: (p) => progress.push(p.done) });
    const ms = performance.now() - t;
    await net.train();
    const memory = await net.memory();
    return {
      lanes: net.encoderWorkers, failed, afterFail, aborted, afterAbort, ids, progress, ms,
      examples: net.examples(), hash: await window.sha256(await net.export()), verify: (await net.verify()).ok,
      workerBytes: memory.encoderWorkerBytes,
    };
  }, { photos: PHOTOS });
}

test('1, 2 and 3 encoder Workers: identical ids, routing, model bytes and errors', { timeout: 900_000 }, async () => {
  const results = {};
  for (const lanes of [1, 2, 3]) {
    const r = await run(lanes);
    r.replies = await replies();
    results[lanes] = r;
    console.log(`[parallel] ${lanes} lane(s): ${PHOTOS.length} photos in ${r.ms.toFixed(0)} ms; Workers answered ${JSON.stringify(r.replies)}; wasm bytes ${JSON.stringify(r.workerBytes)}`);
    assert.equal(r.lanes, lanes);
    assert.equal(r.workerBytes.length, lanes - 1);
    for (const bytes of r.workerBytes) assert.ok(bytes > 20e6, `an encoder Worker holds its wasm instance (${bytes} bytes)`);
    // Without this the comparison below could pass with every photo encoded by the engine.
    assert.equal(r.replies.length, lanes - 1);
    for (const n of r.replies) assert.ok(n > 0, `every extra Worker encoded some photos: ${r.replies}`);
    assert.deepEqual(r.ids, PHOTOS.map((_, i) => `photo-${i}`));
    assert.deepEqual(r.progress, PHOTOS.map((_, i) => i + 1), 'one progress per photo, in count order');
    assert.ok(r.verify);
    assert.equal(r.failed?.code, 'INVALID_IMAGE');
    assert.match(r.failed.message, /^example 6: /);
    assert.deepEqual(r.afterFail, { examples: 0, same: true }, 'a failed batch adds nothing');
    assert.equal(r.aborted?.code, 'ABORTED');
    assert.deepEqual(r.afterAbort, { examples: 0, same: true }, 'an aborted batch adds nothing');
  }
  for (const lanes of [2, 3]) {
    assert.equal(results[lanes].hash, results[1].hash, `export() at ${lanes} lanes equals one lane's, byte for byte`);
    assert.deepEqual(results[lanes].examples, results[1].examples, 'same routing');
    assert.deepEqual(results[lanes].failed, results[1].failed, 'same error, same index, same message');
  }
});

test('the default lane count, and no encoder Worker on WebGPU', { timeout: 600_000 }, async (t) => {
  await openPage();
  const def = await inPage(async (L, { opts }) => {
    const { defaultEncoderWorkers } = await import('/pkg/src/pool.js');
    const net = await L.LegoNet.create(opts);
    const out = { lanes: net.encoderWorkers, expected: defaultEncoderWorkers(navigator), cores: navigator.hardwareConcurrency };
    net.dispose();
    return out;
  }, { opts: OPTS });
  console.log(`[parallel] default: ${def.lanes} lanes on ${def.cores} cores`);
  assert.equal(def.lanes, def.expected);

  const bad = await inPage(async (L, { opts }) => {
    const codes = [];
    for (const encoderWorkers of [0, 1.5, 17, '2']) {
      try { (await L.LegoNet.create({ ...opts, encoderWorkers })).dispose(); codes.push('created'); } catch (e) { codes.push(e.code); }
    }
    return codes;
  }, { opts: OPTS });
  assert.deepEqual(bad, ['INVALID_CONFIG', 'INVALID_CONFIG', 'INVALID_CONFIG', 'INVALID_CONFIG']);

  const has = await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())));
  if (!has) return t.skip('navigator.gpu gives no adapter here');
  await openPage();
  const gpu = await inPage(async (L) => {
    window.net = await L.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'webgpu', encoderWorkers: 3 });
    return { lanes: window.net.encoderWorkers, kind: window.net.backend.kind, bytes: (await window.net.memory()).encoderWorkerBytes };
  });
  await new Promise((r) => setTimeout(r, 3000)); // a Worker would have been created at init
  assert.deepEqual(gpu, { lanes: 1, kind: 'webgpu', bytes: [] });
  assert.equal(encoderWorkers().length, 0, 'no encoder Worker was started');
  await inPage(async () => window.net.dispose());
});

test('an engine on the main thread stops its encoder Workers on dispose', { timeout: 600_000 }, async () => {
  await openPage();
  await inPage(async (L, { opts }) => { window.net = await L.LegoNet.create({ ...opts, worker: false, encoderWorkers: 2 }); }, { opts: OPTS });
  await whenStarted(1);
  assert.equal(encoderWorkers().length, 1);
  const gone = new Promise((resolve) => encoderWorkers()[0].once('close', resolve));
  await inPage(async () => window.net.dispose());
  await gone;
  assert.equal(encoderWorkers().length, 0);
});

test("worker: false inside an app's own Worker leaves that Worker's messages alone", { timeout: 600_000 }, async () => {
  await openPage();
  const got = await b.page.evaluate(async (opts) => {
    const source = `
      self.onmessage = (e) => self.postMessage({ appGot: e.data });
      const L = await import('${location.origin}/pkg/src/index.js');
      const before = self.onmessage;
      const net = await L.LegoNet.create(${JSON.stringify({ ...opts, worker: false, encoderWorkers: 1 })});
      self.postMessage({ created: true, handlerKept: self.onmessage === before });
      net.dispose();`;
    const w = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });
    const got = [];
    await new Promise((resolve, reject) => {
      w.onerror = (e) => reject(new Error(e.message));
      w.onmessage = (e) => {
        got.push(e.data);
        if (e.data.created) w.postMessage('hello');
        if (e.data.appGot) resolve();
      };
      setTimeout(resolve, 60_000); // the app's message never came back: `got` says so
    });
    w.terminate();
    return got;
  }, { ...OPTS, encoderUrl: new URL(OPTS.encoderUrl, b.server.url).href });
  assert.deepEqual(got, [{ created: true, handlerKept: true }, { appGot: 'hello' }]);
});

test('an option given as undefined keeps its default (worker: undefined still runs the engine in a Worker)', { timeout: 600_000 }, async () => {
  await openPage();
  const backend = await inPage(async (L, { opts }) => {
    window.net = await L.LegoNet.create({ ...opts, backend: undefined, worker: undefined, encoderWorkers: 1 });
    return window.net.backend.kind;
  }, { opts: OPTS });
  assert.equal(backend, 'cpu', "backend: undefined is 'auto', which finds no GPU here");
  assert.ok(b.page.workers().some((w) => w.url().endsWith('/worker.js')), 'the engine Worker runs');
  await inPage(async () => window.net.dispose());
});
