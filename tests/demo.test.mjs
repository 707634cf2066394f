// End-to-end test of the demo site (issue 6) in headless Debian Chromium, on a fresh profile:
// stop a batch of sample photos midway (nothing added), load them, train, predict the held-out
// test photos, erase one photo and read the report,
// verify, remove a class, compare, reload (online, then offline through the service worker) and
// find the persisted state, the messages for a non-image, a very large photo and a full quota,
// erase everything and find storage empty. The page's request counter
// must read 0 after load, and Chromium itself must see no request after the app is ready; at the
// end, a request from the page and one from a Worker must both show up on that counter.
// Screenshots of every step (1280×800 and 390×844, full page) go to tests/out/demo/.
// The site under test is what `./dev dist` publishes (tools/dist.mjs, built into a temporary
// folder), served by a plain static server under a sub-path, /legonet/, as on GitHub Pages:
// anything outside it is a 404, so a root-absolute URL anywhere in the demo fails here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import sirv from 'sirv';
import { buildDist } from '../tools/dist.mjs';
import { CHROMIUM_FLAGS } from './browser.mjs';
import { readFiles, windowsOf, filesHolding } from './scan.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'tests/out/demo');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SMALL_PHONE = { width: 320, height: 568 };
const SAMPLES = JSON.parse(fs.readFileSync(path.join(ROOT, 'www/samples/samples.json'), 'utf8')).photos;
const TRAIN = SAMPLES.filter((p) => !p.heldOut);
const HELD_OUT = SAMPLES.filter((p) => p.heldOut);
const missing = ['pkg/wasm/legonet_bg.wasm', 'weights/efficientnet-lite0-f16.safetensors'].filter((f) => !fs.existsSync(path.join(ROOT, f)));

const BASE = '/legonet/';
let b;

/** `dir` under BASE and nothing else (BASE without its slash redirects, as static hosts do);
 *  `log` gets every request the server answered. */
function serveUnder(dir, log) {
  const files = sirv(dir, { dev: true });
  const srv = http.createServer((req, res) => {
    const url = req.url;
    res.on('finish', () => log.push({ url, status: res.statusCode }));
    const notFound = () => { res.statusCode = 404; res.end('not found'); };
    if (url === BASE.slice(0, -1)) { res.writeHead(301, { location: BASE }); return res.end(); }
    if (!url.startsWith(BASE)) return notFound();
    req.url = url.slice(BASE.length - 1);
    files(req, res, notFound);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)),
  })));
}

before(async () => {
  if (missing.length) return;
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-dist-'));
  const manifest = buildDist(dist);
  for (const f of ['pkg/wasm/legonet_bg.wasm', 'pkg/wasm/legonet_webgpu_bg.wasm']) {
    assert.ok(manifest.some((m) => m.file === f), `dist has ${f}`);
  }
  console.log(`[demo] dist: ${manifest.length} files, ${manifest.reduce((s, m) => s + m.bytes, 0)} bytes, served under ${BASE}`);
  const served = [];
  const server = await serveUnder(dist, served);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-demo-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // --headless is in the flags, as in tests/browser.mjs
    args: CHROMIUM_FLAGS,
    viewport: DESKTOP,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // Every request Chromium makes for this profile: the page's, its Worker's, the service worker's.
  const requests = [];
  const log = (r) => requests.push({ url: r.url(), at: Date.now() });
  context.on('request', log);
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text()); });
  page.on('pageerror', (e) => console.error('[page error]', e));
  b = {
    page, context, server, requests, served, profile, dist,
    async close() {
      await context.close(); await server.close();
      fs.rmSync(profile, { recursive: true, force: true }); fs.rmSync(dist, { recursive: true, force: true });
    },
  };
});

after(async () => { await b?.close(); });

let shotNo = 0;
const overflow = []; // steps where the page is wider than a phone
async function shot(name, { fullPage = true } = {}) {
  const { page } = b;
  shotNo += 1;
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  const base = path.join(OUT, `${String(shotNo).padStart(2, '0')}-${name}`);
  await page.screenshot({ path: `${base}-desktop.png`, fullPage });
  // The smallest phones too (320 px): nothing wider than the window, no sideways scrolling.
  for (const size of [SMALL_PHONE, PHONE]) {
    await page.setViewportSize(size);
    const { wide, room } = await page.evaluate(() => ({ wide: document.documentElement.scrollWidth, room: document.documentElement.clientWidth }));
    if (wide > room) overflow.push(`${name} at ${size.width} px: ${wide}px wide in ${room}px`);
  }
  await page.screenshot({ path: `${base}-phone.png`, fullPage });
  await page.setViewportSize(DESKTOP);
}

const text = (sel) => b.page.locator(sel).innerText();
const whenIdle = () => b.page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 600_000 });

async function openDemo() {
  const t = Date.now();
  await b.page.goto(`${b.server.url}${BASE}`);
  await whenIdle();
  return { ms: Date.now() - t, readyAt: Date.now() };
}

/** Stored state seen directly in the origin's private file system (not through the page's code). */
const storedState = () => b.page.evaluate(async () => {
  const names = async (...path) => {
    let dir = await navigator.storage.getDirectory();
    try { for (const p of path) dir = await dir.getDirectoryHandle(p); } catch { return []; }
    const out = [];
    for await (const k of dir.keys()) out.push(k);
    return out;
  };
  const models = new Set((await names('legonet-models')).map((f) => f.replace(/\.[ab]$/, '')));
  return { models: models.size, thumbs: (await names('legonet-demo', 'thumbs')).length };
});

/** The JPEG bytes of example `id`'s thumbnail file (thumbs.js: u32 header length, header, JPEG). */
const thumbBytes = async (id) => Buffer.from(await b.page.evaluate(async (id) => {
  const hex = [...new TextEncoder().encode(id)].map((x) => x.toString(16).padStart(2, '0')).join('');
  const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('legonet-demo')).getDirectoryHandle('thumbs');
  const bytes = new Uint8Array(await (await (await dir.getFileHandle(hex)).getFile()).arrayBuffer());
  return [...bytes.subarray(4 + new DataView(bytes.buffer).getUint32(0, true))];
}, id));
// Windows from the entropy-coded part of a JPEG (its header tables are the same in every thumbnail).
const thumbWindows = (jpeg) => windowsOf(jpeg, { count: 6, width: 48, from: 0.3 });

test('the demo site, end to end', { timeout: 1_800_000, skip: missing.length ? `not built: ${missing.join(', ')}` : false }, async () => {
  const { page } = b;

  // 1. First visit: the service worker caches the app, the engine starts.
  const first = await openDemo();
  console.log(`[demo] first load until ready: ${first.ms} ms`);
  // What a first visit without a real GPU downloaded until ready (every response, the service
  // worker's install included), and nothing of the WebGPU wasm (headless Chromium's adapter is a
  // fallback). The server sends no-store and no compression: gzip -9 is what a compressing host
  // would send.
  const fetched = b.served.filter((e) => e.status === 200).map((e) => {
    const file = decodeURIComponent(e.url.split('?')[0].slice(BASE.length)) || 'index.html';
    const data = fs.readFileSync(path.join(b.dist, file));
    return { file, raw: data.length, gzip: zlib.gzipSync(data, { level: 9 }).length };
  });
  const sum = (list) => `${list.length} responses, ${list.reduce((s, f) => s + f.raw, 0)} bytes, ${list.reduce((s, f) => s + f.gzip, 0)} gzip -9`;
  console.log(`[demo] first visit until ready: ${sum(fetched)}; of which sample photos: ${sum(fetched.filter((f) => f.file.startsWith('www/samples/')))}`);
  for (const f of fetched.filter((f) => f.raw > 1e6)) console.log(`[demo]   ${f.file}: ${f.raw} bytes, ${f.gzip} gzip -9`);
  assert.ok(b.served.some((e) => e.url === `${BASE}pkg/wasm/legonet_bg.wasm`), 'the CPU wasm was fetched');
  assert.deepEqual(b.served.filter((e) => /legonet_webgpu/.test(e.url)), [], 'nothing of the WebGPU wasm was requested');
  assert.equal(await text('#req-count'), '0');
  const backend = await text('#fact-backend');
  console.log(`[demo] backend: ${backend.replace(/\n/g, ' | ')}`);
  assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the page');
  await shot('loaded');

  // 2. Collect: the sample photos (already in memory: no request). Stop works first.
  await page.click('#add-samples');
  await page.waitForFunction(() => /described [1-9]/.test(document.querySelector('#collect-activity-text').textContent));
  await page.click('#collect-stop');
  await whenIdle();
  await page.waitForSelector('.toast:has-text("Stopped")');
  assert.equal(await text('#stat-photos'), '0', 'a stopped batch adds nothing');
  let t = Date.now();
  await page.click('#add-samples');
  await page.waitForFunction((n) => document.querySelectorAll('#gallery .thumb img').length === n, TRAIN.length, { timeout: 600_000 });
  await whenIdle();
  console.log(`[demo] added ${TRAIN.length} sample photos in ${Date.now() - t} ms`);
  assert.equal(await text('#stat-photos'), String(TRAIN.length));
  assert.equal(await text('#stat-classes'), String(new Set(TRAIN.map((p) => p.label)).size));
  assert.ok(await page.locator('#add-samples').isDisabled(), 'the sample pack cannot be added twice');
  await shot('collected');

  // 3. Train, with the progress bar.
  t = Date.now();
  await page.click('#train-btn');
  await page.waitForSelector('#train-result[data-done="yes"]', { timeout: 600_000 });
  await whenIdle();
  console.log(`[demo] trained in ${Date.now() - t} ms: ${await text('#train-result')}`);
  assert.equal(await text('#stat-pending'), '0');
  await shot('trained');

  // 4. Predict the held-out test photos (never trained on).
  const preds = [];
  for (const p of HELD_OUT) {
    await page.click(`.testphoto[data-file="${p.file}"]`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.querySelector('#probs')?.dataset.top);
    preds.push({ want: p.label, got: await page.locator('#probs').getAttribute('data-top') });
    await page.evaluate(() => { delete document.querySelector('#probs').dataset.top; });
  }
  const correct = preds.filter((p) => p.got === p.want).length;
  console.log(`[demo] held-out test photos: ${correct}/${preds.length} correct ${JSON.stringify(preds)}`);
  assert.ok(correct >= preds.length - 1, `at most one held-out photo wrong: ${JSON.stringify(preds)}`);
  // Leave a correct prediction on screen for the screenshot (and check it is shown as correct).
  const good = HELD_OUT.find((p) => preds.find((q) => q.want === p.label).got === p.label);
  await page.click(`.testphoto[data-file="${good.file}"]`);
  await page.waitForSelector('#probs .verdict.ok');
  await whenIdle();
  await shot('predicted');

  // 5. Erase one photo: the forget report.
  const victim = await page.locator('#gallery .thumb').first().getAttribute('data-id');
  // Kept to the end of step 9: not in the class removed in step 7.
  const keeper = await page.locator('#gallery .group:not([data-label="Tools"]) .thumb').last().getAttribute('data-id');
  const [victimJpeg, keeperJpeg] = [await thumbBytes(victim), await thumbBytes(keeper)];
  await page.click(`#gallery .thumb[data-id="${victim}"] .del`);
  await page.waitForSelector('#forget-report[data-forgotten="1"]');
  await whenIdle();
  const retrained = (await page.locator('#forget-report').getAttribute('data-retrained')).split(',').filter(Boolean);
  const lit = await page.locator('#adapters .cell.lit').count();
  console.log(`[demo] forget report: ${(await text('#forget-report')).replace(/\n+/g, ' | ')}`);
  assert.ok(retrained.length >= 1 && retrained.length <= 3, 'an erase retrains 1..k adapters');
  assert.equal(lit, retrained.length, 'the retrained adapters are lit');
  // "Download the receipt": the session's receipts, the last one this erase's.
  const receipts = await page.evaluate(async () => (await fetch(document.querySelector('#receipt-download').href)).json());
  const last = receipts.at(-1);
  assert.equal(last.forgotten.length, 1, 'one commitment for the one erased photo');
  assert.deepEqual(last.adapters.map((a) => String(a.adapter)), retrained, 'the receipt names the retrained adapters');
  assert.ok(!JSON.stringify(receipts).includes(victim), 'the receipt does not reveal the erased photo\'s id');
  assert.match(await page.locator('#receipt-download').getAttribute('download'), /^legonet-receipt-\d+\.json$/);
  assert.equal(await page.locator(`#gallery .thumb[data-id="${victim}"]`).count(), 0);
  assert.equal(await text('#stat-photos'), String(TRAIN.length - 1));
  await shot('erased-one');

  // 6. Verify: the bitwise replay.
  await page.click('#verify-btn');
  await page.waitForSelector('#verify-result[data-ok]');
  await whenIdle();
  assert.equal(await page.locator('#verify-result').getAttribute('data-ok'), 'true', await text('#verify-result'));
  console.log(`[demo] verify: ${await text('#verify-result')}`);
  await shot('verified');

  // 7. Remove a whole class.
  const removed = 'Tools';
  const inClass = await page.locator(`#gallery .group[data-label="${removed}"] .thumb`).count();
  const classJpegs = [];
  for (const id of await page.locator(`#gallery .group[data-label="${removed}"] .thumb`).evaluateAll((els) => els.map((e) => e.dataset.id))) {
    classJpegs.push(await thumbBytes(id));
  }
  await page.click(`#gallery .group[data-label="${removed}"] .remove-class`);
  await page.waitForSelector(`#forget-report[data-forgotten="${inClass}"]`);
  await whenIdle();
  assert.equal(await page.locator(`#gallery .group[data-label="${removed}"]`).count(), 0);
  assert.equal(await page.locator(`#classes .chip:has-text("${removed}")`).count(), 0);
  const left = TRAIN.length - 1 - inClass;
  assert.equal(await text('#stat-photos'), String(left));
  await page.click('#verify-btn');
  await page.waitForSelector('#verify-result[data-ok="true"]');
  await whenIdle();
  await shot('removed-class');

  // 8. Compare with the baselines (it once failed silently here: a missing import).
  await page.click('#compare-btn');
  await whenIdle();
  const methods = await page.locator('#charts').getAttribute('data-methods');
  console.log(`[demo] compare: ${(await text('#charts')).replace(/\n+/g, ' | ')}`);
  assert.deepEqual((methods ?? '').split(',').sort(), ['fixsisa', 'knn', 'legonet', 'retrain'], 'the comparison ran');
  await shot('compare');

  // Zero egress: the page's counter, and every request Chromium saw, since the app was ready.
  assert.equal(await text('#req-count'), '0', 'the page counts no request after load');
  const afterReady = b.requests.filter((r) => r.at > first.readyAt && !/^(blob|data):/.test(r.url));
  assert.deepEqual(afterReady.map((r) => r.url), [], 'Chromium saw no request after the app was ready');
  await shot('privacy');

  // 9. Reload: the model, the classes and the thumbnails come back from OPFS.
  await openDemo();
  assert.equal(await text('#stat-photos'), String(left));
  assert.equal(await page.locator('#gallery .thumb img').count(), left, 'every thumbnail is back');
  assert.equal(await page.locator(`#gallery .group[data-label="${removed}"]`).count(), 0);
  assert.equal(await text('#stat-pending'), '0');
  await page.click(`.testphoto[data-file="${good.file}"]`);
  await page.waitForSelector('#probs .verdict.ok');
  await whenIdle();
  assert.equal(await text('#req-count'), '0');
  await shot('reloaded');
  // The profile, read from outside: the erased photos' thumbnails are in no file; a kept one is.
  {
    const files = readFiles(b.profile);
    assert.ok(filesHolding(files, thumbWindows(keeperJpeg), b.profile).length >= 1, 'a kept thumbnail is found on disk (the scan works)');
    for (const jpeg of [victimJpeg, ...classJpegs]) {
      assert.deepEqual(filesHolding(files, thumbWindows(jpeg), b.profile), [], 'an erased thumbnail is readable on disk');
    }
  }

  // 10. Offline: the service worker serves the whole app.
  await b.context.setOffline(true);
  try {
    await openDemo();
    assert.equal(await text('#stat-photos'), String(left));
    assert.match(await text('#fact-offline'), /^Yes/);
    await shot('offline');
  } finally {
    await b.context.setOffline(false);
  }

  // 11. Clear messages: a file that is not an image, a very large photo, a full storage quota.
  await page.setInputFiles('#pick-files', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') });
  await page.waitForSelector('.toast:has-text("notes.txt")');
  await whenIdle();
  assert.equal(await text('#stat-photos'), String(left));
  // A full quota, simulated for the page's thumbnail store: the page says so plainly.
  await page.evaluate(() => {
    const create = FileSystemFileHandle.prototype.createWritable;
    window.restorePut = () => { FileSystemFileHandle.prototype.createWritable = create; };
    FileSystemFileHandle.prototype.createWritable = function (...args) {
      if (this.name !== 'meta.json') return Promise.reject(new DOMException('simulated: quota exceeded', 'QuotaExceededError'));
      return create.apply(this, args);
    };
  });
  await page.evaluate(async () => {
    const c = new OffscreenCanvas(5000, 3000);
    const g = c.getContext('2d');
    g.fillStyle = '#3a7'; g.fillRect(0, 0, 5000, 3000); g.fillStyle = '#fff'; g.fillRect(1000, 800, 3000, 1400);
    const file = new File([await c.convertToBlob({ type: 'image/jpeg', quality: 0.8 })], 'huge.jpg', { type: 'image/jpeg' });
    const dt = new DataTransfer();
    dt.items.add(file);
    document.querySelector('#collect-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('.toast:has-text("very large photo")');
  await page.waitForSelector('.toast:has-text("storage for the site is full")', { timeout: 120_000 });
  await page.evaluate(() => window.restorePut());
  await page.waitForFunction((n) => document.querySelector('#stat-photos').textContent === String(n), left + 1, { timeout: 120_000 });
  await whenIdle();
  await page.locator('#collect').scrollIntoViewIfNeeded();
  await shot('messages', { fullPage: false }); // the toasts, as they appear on screen
  assert.equal(await text('#req-count'), '0');

  // 12. Erase everything: storage empty, state reset, also after a reload.
  await page.click('#erase-all');
  await page.click('#erase-all');
  await page.waitForSelector('#erase-all-result[data-done="yes"]');
  await whenIdle();
  assert.equal(await text('#stat-photos'), '0');
  assert.equal(await page.locator('#gallery .thumb').count(), 0);
  assert.deepEqual(await storedState(), { models: 0, thumbs: 0 });
  assert.equal(await text('#req-count'), '0');
  assert.ok(await page.locator('#add-samples').isEnabled(), 'the sample pack can be added again');
  await shot('erased-everything');
  await openDemo();
  assert.equal(await text('#stat-photos'), '0');
  assert.deepEqual(await storedState(), { models: 0, thumbs: 0 });

  // The counter is live: one request from the page and one from a Worker are both counted.
  await page.evaluate(async () => {
    await fetch('www/samples/samples.json');
    const src = `fetch(${JSON.stringify(new URL('www/samples/CREDITS.md', location.href).href)}).then(() => postMessage('done'))`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    await new Promise((r) => { w.onmessage = r; });
    w.terminate();
  });
  await page.waitForFunction(() => document.querySelector('#req-count').textContent === '2', null, { timeout: 10_000 });
  await page.click('#req-details summary');
  await shot('counter-live');
  assert.deepEqual(overflow, [], 'at phone width nothing is wider than the screen');
  // Everything the page, its Workers and the service worker asked for is in dist/ under BASE.
  console.log(`[demo] the server answered ${b.served.length} requests, ${new Set(b.served.map((r) => r.url)).size} distinct URLs`);
  assert.deepEqual(b.served.filter((r) => r.status >= 400), [], 'every request under the sub-path found its file in dist/');
  assert.ok(b.served.every((r) => r.url.startsWith(BASE)), 'no request outside the sub-path');

  // After "Erase everything" and closing the browser, no thumbnail is in any file of the profile.
  await b.context.close();
  const files = readFiles(b.profile);
  for (const jpeg of [victimJpeg, keeperJpeg, ...classJpegs]) {
    assert.deepEqual(filesHolding(files, thumbWindows(jpeg), b.profile), [], 'a thumbnail survives Erase everything');
  }
  console.log(`[demo] profile scanned after Erase everything: ${files.length} files, no thumbnail in any`);
});
