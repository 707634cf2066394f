// The package's end-to-end scenarios, written once for every browser the tests drive
// (tests/browser.mjs: Chromium through playwright-core, Firefox ESR through puppeteer-core):
// tests/pkg.test.mjs runs them in Chromium (CPU and WebGPU), tests/firefox.test.mjs in Firefox
// (CPU). Real photos from gcompris-photos: add examples for 3 classes, train, predict held-out
// photos, forget one, verify, save, reload the page, load, predict the same, export → import
// round trip, a native audit of the exported bytes; the photo audit (a kept, a forgotten and a
// never-added photo, in the page and natively against the page's encodings, WebGPU's included)
// and the forget's deletion receipt checked in the page and by `legonet verify --receipts`; no request leaves for another origin and
// none at all during train/predict/forget; bad inputs reject with their documented code and
// leave the model as it was.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { datasetPhotos, DATASETS } from './browser.mjs';
import { assertShape } from './dts.mjs';

/** The native CLI `./dev` builds (release); it audits snapshots exported by the page. */
const LEGONET_CLI = path.join(process.env.CARGO_TARGET_DIR
  ?? path.join(process.env.LEGONET_CACHE ?? path.join(os.homedir(), '.cache/legonet'), 'target'), 'release/legonet');

const CLASSES = ['animals', 'monuments', 'tools'];
const { train: TRAIN, heldOut: HELD_OUT } = datasetPhotos(CLASSES, { train: 6, heldOut: 2 });

/** The test page and a way to run code in it, for the browser `b` (openBrowser). */
function helpers(b) {
  return {
    async openPage() {
      await b.page.goto(`${b.server.url}/tests/pages/pkg.html`);
      await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
    },
    /** Runs `fn(legonet, args)` in the page; the model lives in window.net between calls. */
    inPage: (fn, args) => b.page.evaluate(`(${fn})(window.legonet, ${JSON.stringify(args ?? null)})`),
    otherOrigin: (url) => !url.startsWith(b.server.url) && !url.startsWith('data:') && !url.startsWith('blob:'),
  };
}

/**
 * Create (on `backend`), add, train, predict, forget, verify, compare, bad inputs, save / reload /
 * load, export / import, native verify, removeClass. `t` is the node:test context (skips WebGPU
 * where the browser gives no adapter); `clockStep` bounds the reports' `msResolution` in ms.
 */
export async function coreFlow(b, t, { backend, clockStep }) {
  const { openPage, inPage, otherOrigin } = helpers(b);
  const tag = `${b.browser} ${backend}`;
  await openPage();
  if (backend === 'webgpu') {
    const has = await b.page.evaluate(async () => !!(navigator.gpu && (await navigator.gpu.requestAdapter())));
    if (!has) return t.skip('navigator.gpu gives no adapter here');
  }
  const created = await inPage(async (L, { backend }) => {
    window.net = await L.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend, adapters: 16, activated: 3 });
    return { backend: window.net.backend, encoderId: window.net.encoderId };
  }, { backend });
  console.log(`[${tag}] backend: ${JSON.stringify(created.backend)}`);
  assert.equal(created.backend.kind, backend);
  // Every value the package returns is held to its interface in index.d.ts (assertShape): a
  // field renamed in the worker or the wasm fails here, not in a user's app.
  assertShape(created.backend, 'BackendInfo');
  assert.match(created.encoderId, /^[0-9a-f]{64}$/);

  // Add examples (Blobs of real WebP photos) for 3 classes, with progress.
  const added = await inPage(async (L, { train }) => {
    const items = await Promise.all(train.map(async (p) => ({ image: await window.fetchBlob(p.url), label: p.label })));
    const progress = [];
    const t = performance.now();
    const ids = await window.net.addExamples(items, { onProgress: (p) => progress.push(p) });
    return { ids, progress: progress.length, ms: performance.now() - t, labels: window.net.labels(), examples: window.net.examples() };
  }, { train: TRAIN });
  assert.equal(added.ids.length, TRAIN.length);
  assert.equal(new Set(added.ids).size, TRAIN.length);
  assert.deepEqual(added.labels, [...CLASSES].sort());
  assert.equal(added.progress, TRAIN.length);
  for (const e of added.examples) assertShape(e, 'Example');
  console.log(`[${tag}] encoded ${TRAIN.length} photos in ${added.ms.toFixed(0)} ms`);

  // Train (no request at all from here until the end of forget).
  const before = b.requests.length;
  const servedBefore = b.served.length;
  const trained = await inPage(async () => {
    const progress = [];
    const report = await window.net.train({ onProgress: (p) => progress.push(p) });
    return { report, progress };
  });
  assertShape(trained.report, 'TrainReport');
  for (const p of trained.progress) assertShape(p, 'Progress');
  assert.ok(trained.report.adaptersTrained > 0);
  assert.ok(trained.progress.length > 0 && trained.progress.at(-1).done === trained.progress.at(-1).total);

  // Predict held-out photos.
  const preds = await inPage(async (L, { heldOut }) => {
    const out = [];
    for (const p of heldOut) {
      const blob = await window.fetchBlob(p.url);
      out.push({ want: p.label, got: await window.net.predict(blob) });
    }
    return out;
  }, { heldOut: HELD_OUT });
  const correct = preds.filter((p) => p.got[0].label === p.want).length;
  console.log(`[${tag}] held-out: ${correct}/${preds.length} correct`);
  for (const p of preds) {
    for (const c of p.got) assertShape(c, 'ClassScore');
    assert.ok(Math.abs(p.got.reduce((s, c) => s + c.score, 0) - 1) < 1e-3, 'scores sum to 1');
  }
  assert.equal(correct, preds.length, `every held-out photo predicted correctly: ${JSON.stringify(preds.map((p) => [p.want, p.got[0]]))}`);

  // Forget one; verify.
  const forgot = await inPage(async (L, { id, other }) => {
    const report = await window.net.forget(id);
    return {
      report, verify: await window.net.verify(), left: window.net.examples().length,
      compare: await window.net.compare({ forget: other }), plain: await window.net.compare(),
    };
  }, { id: added.ids[0], other: added.ids[1] });
  console.log(`[${tag}] forget: ${JSON.stringify(forgot.report)}; verify: ${JSON.stringify(forgot.verify)}`);
  assertShape(forgot.report, 'ForgetReport');
  assertShape(forgot.verify, 'VerifyReport');
  for (const row of forgot.compare) assertShape(row, 'CompareRow');
  assert.deepEqual(forgot.compare.map((r) => r.method), ['legonet', 'retrain', 'fixsisa', 'knn']);
  // Without `forget`: training and accuracy only.
  assert.deepEqual(forgot.plain.map((r) => [r.method, r.forgetMs, r.samplesReplayed]), forgot.compare.map((r) => [r.method, 0, 0]));
  assert.equal(forgot.report.forgotten, 1);
  assert.ok(forgot.report.retrainedAdapters.length >= 1 && forgot.report.retrainedAdapters.length <= 3);
  assert.ok(forgot.verify.ok);
  assert.equal(forgot.left, TRAIN.length - 1);
  // The receipt: its documented shape, and it checks against the model in the page.
  assertShape(forgot.report.receipt, 'ForgetReceipt');
  for (const a of forgot.report.receipt.adapters) assertShape(a, 'AdapterChange');
  assertShape(forgot.report.receipt.config, 'ReceiptConfig');
  assert.deepEqual(forgot.report.receipt.adapters.map((a) => a.adapter), forgot.report.retrainedAdapters);
  assert.equal(forgot.report.receipt.forgotten.length, 1);
  assert.ok(!JSON.stringify(forgot.report.receipt).includes(added.ids[0]), 'the receipt does not reveal the id');

  // Photo audit: the forgotten photo and a never-added one are not held, a kept one is (at
  // distance 0: the same encoder on the same backend); every adapter replays.
  const audits = await inPage(async (L, { forgotten, kept, never, receipt }) => {
    const audit = async (p) => window.net.audit(await window.fetchBlob(p.url));
    return {
      forgotten: await audit(forgotten), kept: await audit(kept), never: await audit(never),
      check: await window.net.checkReceipts(receipt),
    };
  }, { forgotten: TRAIN[0], kept: TRAIN[2], never: HELD_OUT[0], receipt: forgot.report.receipt });
  console.log(`[${tag}] audit: forgotten ${JSON.stringify(audits.forgotten.nearest)}, never ${JSON.stringify(audits.never.nearest)}`);
  for (const a of [audits.forgotten, audits.kept, audits.never]) {
    assertShape(a, 'PhotoAudit');
    assert.ok(a.verify.ok);
    assert.equal(a.examples, TRAIN.length - 1);
  }
  assert.equal(audits.forgotten.held, false);
  assert.ok(audits.forgotten.nearest.distance > audits.forgotten.tolerance);
  assert.equal(audits.never.held, false);
  assert.deepEqual(audits.kept.matches.map((m) => [m.id, m.distance]), [[added.ids[2], 0]]);
  assertShape(audits.check, 'ReceiptCheck');
  assert.deepEqual(audits.check.failures, []);
  assert.equal(audits.check.commitments, 1);
  assert.equal(audits.kept.modelHash, forgot.report.receipt.modelAfter);
  // Fetching the held-out photos is the test's own doing; the library itself made none.
  const libRequests = b.requests.slice(before).filter((u) => !u.includes('/datasets/'));
  assert.deepEqual(libRequests, [], 'no request during train/predict/forget');
  // The server's side too (a Worker's requests reach it whatever the automation protocol reports).
  assert.deepEqual(b.served.slice(servedBefore).filter((r) => !r.url.startsWith('/datasets/')), [], 'the server saw none either');
  // Times are multiples of the engine's clock step (Firefox 1 ms, Chromium 0.1 ms): every report
  // says which, so a 0 ms forget reads "under msResolution", not "instant".
  for (const r of [trained.report, forgot.report, forgot.verify, ...forgot.compare]) {
    assert.ok(r.msResolution > 0 && r.msResolution <= clockStep, `msResolution ${r.msResolution} in (0, ${clockStep}]`);
  }
  for (const ms of [trained.report.ms, forgot.report.ms, forgot.verify.ms, ...forgot.compare.flatMap((row) => [row.trainMs, row.forgetMs])]) {
    const steps = ms / forgot.report.msResolution;
    assert.ok(Math.abs(steps - Math.round(steps)) < 1e-6, `${ms} ms is a whole number of ${forgot.report.msResolution} ms steps`);
  }

  // Bad inputs: typed errors, model unchanged.
  const bad = await inPage(async (L) => {
    const snapshot = await window.net.export();
    const codeOf = async (f) => { try { await f(); return 'no error'; } catch (e) { return { code: e.code, name: e.name, isError: e instanceof Error, isLegoNetError: e instanceof L.LegoNetError }; } };
    const tiny = new ImageData(1, 1);
    const out = {
      emptyBlob: await codeOf(() => window.net.addExample(new Blob([], { type: 'image/png' }), 'animals')),
      notImage: await codeOf(() => window.net.addExample(new Blob(['this is not an image'], { type: 'image/png' }), 'animals')),
      tinyImage: await codeOf(() => window.net.addExample(tiny, 'animals')),
      unknownId: await codeOf(() => window.net.forget('no-such-id')),
      truncated: await codeOf(() => L.LegoNet.import(snapshot.slice(0, snapshot.length - 7), { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' })),
      badBackend: await codeOf(() => L.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'tpu' })),
      auditNotImage: await codeOf(() => window.net.audit(new Blob(['this is not an image'], { type: 'image/webp' }))),
      badReceipt: await codeOf(() => window.net.checkReceipts({ version: 1, salt: 'not hex' })),
    };
    out.unchanged = (await window.sha256(await window.net.export())) === (await window.sha256(snapshot));
    return out;
  });
  assert.equal(bad.emptyBlob.code, 'INVALID_IMAGE');
  assert.equal(bad.notImage.code, 'INVALID_IMAGE');
  assert.equal(bad.tinyImage.code, 'INVALID_IMAGE');
  assert.equal(bad.unknownId.code, 'UNKNOWN_ID');
  assert.equal(bad.truncated.code, 'CORRUPT_SNAPSHOT');
  assert.equal(bad.badBackend.code, 'INVALID_CONFIG');
  assert.equal(bad.auditNotImage.code, 'INVALID_IMAGE');
  assert.equal(bad.badReceipt.code, 'INVALID_RECEIPT');
  assert.equal(bad.badReceipt.name, 'ReceiptError');
  for (const v of Object.values(bad).filter((v) => typeof v === 'object')) assert.ok(v.isError && v.isLegoNetError);
  assert.ok(bad.unchanged, 'the model is byte-identical after the rejected calls');

  // Save, reload the page, load, predict the same; export → import round trip identical.
  const name = `test-${backend}`;
  const saved = await inPage(async (L, { name, heldOut }) => {
    await window.net.save(name);
    const preds = [];
    for (const p of heldOut) preds.push(await window.net.predict(await window.fetchBlob(p.url)));
    return { preds, bytes: await window.sha256(await window.net.export()), examples: window.net.examples().length };
  }, { name, heldOut: HELD_OUT });
  await openPage();
  const loaded = await inPage(async (L, { name, heldOut, backend }) => {
    const opts = { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend };
    window.net = await L.LegoNet.load(name, opts);
    const preds = [];
    for (const p of heldOut) preds.push(await window.net.predict(await window.fetchBlob(p.url)));
    const bytes = await window.net.export();
    // Its ArrayBuffer (also accepted): the package copies it, so `bytes` stays readable below.
    const copy = await L.LegoNet.import(bytes.buffer, opts);
    const again = await copy.export();
    const verify = await copy.verify();
    copy.dispose();
    const memory = await window.net.memory();
    let b64 = '';
    for (let i = 0; i < bytes.length; i += 0x8000) b64 += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { preds, bytes: await window.sha256(bytes), roundTrip: await window.sha256(again), verify, memory,
             examples: window.net.examples().length, snapshot: btoa(b64) };
  }, { name, heldOut: HELD_OUT, backend });
  assert.equal(loaded.examples, saved.examples);
  assert.deepEqual(loaded.preds, saved.preds, 'predictions after reload + load are identical');
  assert.deepEqual(loaded.bytes, saved.bytes, 'the loaded model is byte-identical to the saved one');
  assert.deepEqual(loaded.roundTrip, loaded.bytes, 'export → import → export is identical');
  assert.ok(loaded.verify.ok);
  assertShape(loaded.memory, 'MemoryReport');
  assert.ok(loaded.memory.encodingBytes === loaded.examples * 1280 * 4);
  // The snapshot trained in wasm verifies natively: every adapter replayed by the native CLI
  // (other SIMD width, other compiler target) equals the browser's bit for bit.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-pkg-')), 'model.legonet');
  fs.writeFileSync(file, Buffer.from(loaded.snapshot, 'base64'));
  const native = JSON.parse(execFileSync(LEGONET_CLI, ['verify', file, '--json'], { encoding: 'utf8' }));
  console.log(`[${tag}] native verify of the browser's snapshot: ${JSON.stringify(native)}`);
  assert.equal(native.ok, true);
  assert.equal(native.adaptersChecked, 16);
  assert.deepEqual(native.mismatches, []);
  assert.equal(native.examples, loaded.examples);
  // The receipt checks natively against the exported model; one changed character fails it.
  const receipts = path.join(path.dirname(file), 'receipts.json');
  fs.writeFileSync(receipts, JSON.stringify([forgot.report.receipt]));
  const checked = JSON.parse(execFileSync(LEGONET_CLI, ['verify', file, '--receipts', receipts, '--json'], { encoding: 'utf8' }));
  assert.equal(checked.ok, true, JSON.stringify(checked.receipts));
  const tampered = { ...forgot.report.receipt, modelBefore: forgot.report.receipt.modelAfter };
  fs.writeFileSync(receipts, JSON.stringify(tampered));
  assert.throws(() => execFileSync(LEGONET_CLI, ['verify', file, '--receipts', receipts], { encoding: 'utf8', stdio: 'pipe' }),
    (e) => e.status === 1 && /receipts do not match the model/.test(e.stderr));
  // The native photo audit of the browser's model: the photos re-decoded and re-encoded here (on
  // the CPU, whatever encoded them in the page: WebGPU in the webgpu run).
  const photo = (p) => path.join(DATASETS, p.url.replace(/^\/datasets\//, ''));
  const audit = JSON.parse(execFileSync(LEGONET_CLI,
    ['audit', file, '--photo', photo(TRAIN[2]), '--photo', photo(TRAIN[0]), '--photo', photo(HELD_OUT[0]), '--json'], { encoding: 'utf8' }));
  const [kept, forgotten, never] = audit.photos.map((p) => p.audit);
  console.log(`[${tag}] native audit: kept at ${kept.nearest.distance.toExponential(2)}, forgotten nearest ${forgotten.nearest.distance.toExponential(2)}, never-added nearest ${never.nearest.distance.toExponential(2)} (tolerance ${kept.tolerance})`);
  assert.deepEqual(kept.matches.map((m) => m.id), [added.ids[2]], 'the kept photo is found across platforms');
  assert.equal(forgotten.held, false);
  assert.equal(never.held, false);
  assert.equal(audit.verify.ok, true);
  console.log(`[${tag}] memory: ${JSON.stringify(loaded.memory)}`);

  // Removing a class forgets its examples (and keeps the saved copy in sync).
  const removed = await inPage(async (L, { name, backend }) => {
    const report = await window.net.removeClass('tools');
    const reloaded = await L.LegoNet.load(name, { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend });
    const out = { report, labels: window.net.labels(), storedLabels: reloaded.labels(), storedExamples: reloaded.examples().length };
    reloaded.dispose();
    window.net.dispose();
    return out;
  }, { name, backend });
  assertShape(removed.report, 'ForgetReport');
  assert.deepEqual(removed.labels, ['animals', 'monuments']);
  assert.deepEqual(removed.storedLabels, ['animals', 'monuments'], 'storage forgot the class too');

  const foreign = b.requests.filter(otherOrigin);
  assert.deepEqual(foreign, [], 'no request to any other origin');
}

/** An aborted train leaves the previous model usable and unchanged (CPU). */
export async function abortedTrain(b) {
  const { openPage, inPage } = helpers(b);
  await openPage();
  const out = await inPage(async (L, { train }) => {
    const net = await L.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu', adapters: 16, activated: 3 });
    const blobs = await Promise.all(train.map((p) => window.fetchBlob(p.url)));
    const half = train.length >> 1;
    await net.addExamples(train.slice(0, half).map((p, i) => ({ image: blobs[i], label: p.label })));
    await net.train();
    const beforeBytes = await net.export();
    const probe = await net.predict(blobs[0]);
    await net.addExamples(train.slice(half).map((p, i) => ({ image: blobs[half + i], label: p.label })));
    const pendingBytes = await net.export();
    const controller = new AbortController();
    let aborted = null;
    // Abort while the call is in flight (its request is already posted to the worker).
    const run = net.train({ signal: controller.signal });
    controller.abort();
    try { await run; } catch (e) { aborted = e.code; }
    const same = (await window.sha256(await net.export())) === (await window.sha256(pendingBytes));
    const probeAfter = await net.predict(blobs[0]);
    net.dispose();
    let disposed = null;
    try { await net.verify(); } catch (e) { disposed = e.code; }
    return { aborted, same, probe, probeAfter, changedByAdd: beforeBytes.length !== pendingBytes.length, disposed };
  }, { train: TRAIN });
  assert.equal(out.aborted, 'ABORTED');
  assert.ok(out.same, 'state after the aborted train equals the state before it');
  assert.deepEqual(out.probeAfter, out.probe, 'the previously trained model still predicts the same');
  assert.equal(out.disposed, 'DISPOSED');
}
