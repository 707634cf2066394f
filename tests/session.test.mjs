// Long sessions (issue 14): 1,000 cycles of add / train / predict / forget with the model bound to
// a saved name (so train and forget each save it to OPFS) in headless Chromium. Wasm memory
// (engine and encoder Workers) and the page's JS heap must be flat after warm-up; the series is
// printed. Then calls made without awaiting each other (train, forget, predict, export, verify at
// once) must be serialised by the engine: the same answers and the same model bytes as the same
// calls awaited one by one on a twin model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPkgPage, datasetPhotos } from './browser.mjs';

const CYCLES = Number(process.env.LEGONET_SESSION_CYCLES ?? 1000);
const OPTS = { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu', seed: 3 };

let b;
before(async () => {
  // Precise heap figures and a gc() to call before each reading.
  b = await openPkgPage({ flags: ['--enable-precise-memory-info', '--js-flags=--expose-gc'] });
});
after(async () => { await b?.close(); });

const inPage = (fn, args) => b.page.evaluate(`(${fn})(window.legonet, ${JSON.stringify(args ?? null)})`);

test(`${CYCLES} cycles of add, train, predict, forget and save: memory flat, verify ok`, { timeout: 1_800_000 }, async () => {
  const photos = datasetPhotos(['animals', 'monuments', 'tools'], { train: 4, heldOut: 4 });
  const out = await inPage(async (L, { photos, opts, cycles }) => {
    const net = await L.LegoNet.create(opts);
    const blobs = async (list) => Promise.all(list.map(async (p) => ({ image: await window.fetchBlob(p.url), label: p.label })));
    const base = await blobs(photos.train.filter((_, i) => i % 2 === 0)); // 2 per class stay
    const pool = await blobs(photos.train.filter((_, i) => i % 2 === 1)); // added and forgotten in turn
    const probes = await blobs(photos.heldOut);
    await net.addExamples(base);
    await net.train();
    await net.save('session'); // bound: every train and forget below saves it again
    const series = [];
    const t0 = performance.now();
    let correct = 0;
    for (let c = 1; c <= cycles; c++) {
      const item = pool[c % pool.length];
      const id = await net.addExample(item.image, item.label);
      await net.train();
      const probe = probes[c % probes.length];
      if ((await net.predict(probe.image))[0].label === probe.label) correct++;
      await net.forget(id);
      if (c === 1 || c % 100 === 0 || c === cycles) {
        window.gc?.();
        const m = await net.memory();
        series.push({
          cycle: c, ms: Math.round(performance.now() - t0), wasm: m.wasmBytes,
          encoderWorkers: m.encoderWorkerBytes, heap: performance.memory?.usedJSHeapSize ?? null,
          examples: net.examples().length,
        });
      }
    }
    const verify = await net.verify();
    const reloaded = await L.LegoNet.load('session', opts);
    const same = (await window.sha256(await reloaded.export())) === (await window.sha256(await net.export()));
    reloaded.dispose();
    net.dispose();
    return { series, verify, same, correct, base: base.length };
  }, { photos, opts: OPTS, cycles: CYCLES });
  console.log(`[session] ${CYCLES} cycles (predictions correct: ${out.correct}/${CYCLES})`);
  for (const s of out.series) {
    console.log(`[session] cycle ${String(s.cycle).padStart(4)}  ${String(s.ms).padStart(7)} ms  wasm ${(s.wasm / 2 ** 20).toFixed(1)} MiB`
      + `  encoder Workers ${s.encoderWorkers.map((x) => (x / 2 ** 20).toFixed(1)).join(', ')} MiB`
      + `  page heap ${(s.heap / 2 ** 20).toFixed(2)} MiB  examples ${s.examples}`);
  }
  assert.ok(out.verify.ok, 'verify ok after the session');
  assert.ok(out.same, 'the saved copy equals the model');
  assert.ok(out.series.every((s) => s.examples === out.base), 'every added photo was forgotten');
  // Flat after warm-up: wasm memory never shrinks, so it must not have grown since cycle 100 (one
  // 64 KiB page of slack per instance); the page heap may move with the collector, not trend up.
  const warm = out.series.find((s) => s.cycle === Math.min(100, CYCLES));
  const last = out.series.at(-1);
  assert.ok(last.wasm - warm.wasm <= 65536, `engine wasm grew ${last.wasm - warm.wasm} B after warm-up`);
  last.encoderWorkers.forEach((x, i) => assert.ok(x - (warm.encoderWorkers[i] ?? x) <= 65536, `encoder Worker ${i} wasm grew after warm-up`));
  if (warm.heap != null) assert.ok(last.heap <= warm.heap * 1.25 + 2 ** 20, `page heap ${warm.heap} → ${last.heap} B`);
});

test('calls made without awaiting each other are serialised: the answers and model of one-by-one calls', { timeout: 600_000 }, async () => {
  const photos = datasetPhotos(['animals', 'monuments', 'tools'], { train: 3, heldOut: 1 });
  const out = await inPage(async (L, { photos, opts }) => {
    const items = await Promise.all(photos.train.map(async (p, i) => ({ image: await window.fetchBlob(p.url), label: p.label, id: `p${i}` })));
    const probe = await window.fetchBlob(photos.heldOut[0].url);
    // The model a snapshot holds, by its hash: the bytes also carry the receipt chain, whose
    // receipts are salted at random per forget (history, not the model).
    const modelIn = async (bytes) => {
      const m = await L.LegoNet.import(bytes, opts);
      const { modelHash } = await m.audit(probe);
      m.dispose();
      return modelHash;
    };
    const run = async (together) => {
      const net = await L.LegoNet.create(opts);
      await net.addExamples(items);
      await net.train();
      await net.addExample(items[0].image, items[0].label, { id: 'late' });
      const calls = [() => net.train(), () => net.forget('p1'), () => net.predict(probe), () => net.export(), () => net.verify()];
      let results;
      if (together) {
        results = await Promise.allSettled(calls.map((f) => f()));
      } else {
        results = [];
        for (const f of calls) results.push(await f().then((value) => ({ status: 'fulfilled', value }), (reason) => ({ status: 'rejected', reason })));
      }
      const [train, forget, predict, exported, verify] = results;
      const shape = {
        statuses: results.map((r) => r.status + (r.reason ? ` ${r.reason.code}` : '')),
        trained: train.value?.adaptersTrained, forgotten: forget.value?.forgotten, predict: predict.value,
        exported: exported.value ? await modelIn(exported.value) : null, verify: verify.value?.ok,
        final: await modelIn(await net.export()), examples: net.examples().map((e) => e.id).sort(),
        verifyAfter: (await net.verify()).ok,
      };
      net.dispose();
      return shape;
    };
    return { together: await run(true), oneByOne: await run(false) };
  }, { photos, opts: OPTS });
  console.log(`[session] together: ${JSON.stringify(out.together.statuses)}; one by one: ${JSON.stringify(out.oneByOne.statuses)}`);
  assert.deepEqual(out.together.statuses, Array(5).fill('fulfilled'));
  assert.deepEqual(out.together, out.oneByOne);
  assert.ok(out.together.verifyAfter);
  assert.ok(!out.together.examples.includes('p1') && out.together.examples.includes('late'));
});
