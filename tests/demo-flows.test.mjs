// The demo's smaller paths in headless Chromium (the repo root served as it is): the pickers and
// drop zones by keyboard, where the focus goes after a redraw, the hints of the Predict step, a
// failed prediction, a too-small photo in a batch, adding and erasing everything after a
// prediction, the report of a one-adapter model, a reload with untrained photos; then two tabs
// of the demo: each counts only its own requests, and a tab whose model another tab changed says
// so and reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser } from './browser.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const SAMPLES = JSON.parse(fs.readFileSync(path.join(ROOT, 'www/samples/samples.json'), 'utf8')).photos;
const TRAIN = SAMPLES.filter((p) => !p.heldOut);
const HELD_OUT = SAMPLES.filter((p) => p.heldOut);
const missing = ['pkg/wasm/legonet_bg.wasm', 'weights/efficientnet-lite0-f16.safetensors'].filter((f) => !fs.existsSync(path.join(ROOT, f)));

let b;
const pageErrors = [];
before(async () => {
  if (missing.length) return;
  b = await openBrowser();
  b.page.on('pageerror', (e) => pageErrors.push(e.message)); // uncaught: reported errors are console.error
});
after(async () => { await b?.close(); });

const skip = missing.length ? `not built: ${missing.join(', ')}` : false;
const whenIdle = (page = b.page) => page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 300_000 });
const text = (sel, page = b.page) => page.locator(sel).innerText();
const focused = (page = b.page) => page.evaluate(() => {
  const el = document.activeElement;
  return { id: el.id, cls: el.className, tag: el.tagName, label: el.dataset.label, inGallery: !!el.closest('#gallery') };
});

/** Drops PNGs drawn in the page ([{ name, w, h }]) on the Collect drop zone. */
const dropImages = (page, specs) => page.evaluate(async (specs) => {
  const dt = new DataTransfer();
  for (const { name, w, h } of specs) {
    const c = new OffscreenCanvas(w, h);
    const g = c.getContext('2d');
    g.fillStyle = '#3a7'; g.fillRect(0, 0, w, h); g.fillStyle = '#fff'; g.fillRect(w / 4, h / 4, w / 2, h / 2);
    dt.items.add(new File([await c.convertToBlob({ type: 'image/png' })], name, { type: 'image/png' }));
  }
  document.querySelector('#collect-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
}, specs);

async function train(page = b.page) {
  await page.evaluate(() => { delete document.querySelector('#train-result').dataset.done; });
  await page.click('#train-btn');
  await page.waitForSelector('#train-result[data-done="yes"]', { timeout: 300_000 });
  await whenIdle(page);
}

async function predictSample(label) {
  await b.page.evaluate(() => { delete document.querySelector('#probs').dataset.top; });
  await b.page.click(`.testphoto[data-file="${HELD_OUT.find((p) => p.label === label).file}"]`);
  await b.page.waitForFunction(() => document.querySelector('#probs').dataset.top);
  await whenIdle();
}

test('pickers and drop zones by keyboard, and texts of an empty page', { skip, timeout: 300_000 }, async () => {
  const { page } = b;
  await page.goto(`${b.server.url}/`);
  await whenIdle();
  assert.doesNotMatch(await text('#collect-drop'), /new class/, 'no class is named yet');
  for (const id of ['collect-drop', 'predict-drop']) {
    assert.equal(await page.locator(`#${id}`).getAttribute('role'), 'group');
    assert.ok(await page.locator(`#${id}`).getAttribute('aria-label'), `#${id} has a name`);
  }
  for (const id of ['testphotos', 'adapters']) assert.equal(await page.locator(`#${id}`).getAttribute('role'), 'group');
  // Tab reaches the pickers; Enter opens them, on the drop zones too (a click on the hidden
  // input opens the browser's file chooser: recorded here instead).
  await page.focus('#collect-drop');
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'pick-files-btn');
  await page.keyboard.press('Tab');
  assert.equal((await focused()).id, 'pick-folder-btn');
  await page.evaluate(() => {
    window.opened = [];
    for (const input of document.querySelectorAll('input[type=file]')) {
      input.addEventListener('click', (e) => { e.preventDefault(); window.opened.push(input.id); });
    }
  });
  for (const [sel, input] of [['#pick-files-btn', 'pick-files'], ['#pick-folder-btn', 'pick-folder'], ['#collect-drop', 'pick-files'],
    ['#predict-drop', 'predict-file'], ['#predict-file-btn', 'predict-file'], ['#camera-collect', null]]) {
    await page.focus(sel);
    await page.keyboard.press('Enter');
    assert.deepEqual(await page.evaluate(() => window.opened.splice(0)), input ? [input] : [], `Enter on ${sel}`);
  }
});

test('predict, then add, reload, erase by keyboard and erase everything', { skip, timeout: 600_000 }, async () => {
  const { page } = b;
  await page.click('#add-samples');
  await page.waitForFunction((n) => document.querySelectorAll('#gallery .thumb img').length === n, TRAIN.length, { timeout: 300_000 });
  await whenIdle();
  assert.equal(await text('#predict-hint'), 'Train first, then try a photo.');
  await train();
  assert.match(await text('#predict-hint'), /^Ready: pick a test photo/, 'the unlocked step says what to do');

  // A test photo of one of the model's classes is graded.
  await predictSample('Fish');
  assert.equal(await page.locator('#probs .verdict.ok, #probs .verdict.bad').count(), 1);
  // A photo that cannot be read leaves no result of the previous one on screen.
  await page.setInputFiles('#predict-file', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not really a jpeg') });
  await page.waitForSelector('.toast:has-text("cannot be used")');
  await whenIdle();
  assert.equal(await page.locator('#probs .prob').count(), 0, 'the previous bars are gone');
  assert.ok(await page.locator('#predict-img').isHidden());

  // After a prediction, adding photos works: a 1×1 image is skipped by name, the other added.
  await predictSample('Tools');
  await dropImages(page, [{ name: 'tiny.png', w: 1, h: 1 }, { name: 'fine.png', w: 64, h: 48 }]);
  await page.waitForSelector('.toast:has-text("“tiny.png” is 1×1")');
  await page.waitForSelector('.toast:has-text("Added 1 photo")');
  await whenIdle();
  assert.equal(await text('#stat-photos'), String(TRAIN.length + 1));
  assert.ok(await page.locator('#train-btn').isEnabled(), 'Train is enabled again');
  assert.equal(await text('#train-btn'), 'Train 1 adapter');
  assert.equal(await text('#predict-hint'), 'Train the new photos first.');
  assert.deepEqual(pageErrors, [], 'no error on the page');

  // After a reload the untrained photo is still a new photo of a trained model.
  await page.reload();
  await whenIdle();
  assert.equal(await text('#train-btn'), 'Train 1 adapter');
  assert.equal(await text('#predict-hint'), 'Train the new photos first.');
  await train();

  // Erase a photo by keyboard: the focus goes to the next photo's ×, not to the page.
  const group = page.locator('#gallery .group[data-label="Tools"]');
  const [first, second] = await group.locator('.thumb').evaluateAll((els) => els.map((e) => e.dataset.id));
  await group.locator('.thumb .del').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#forget-report[data-forgotten="1"]');
  await whenIdle();
  assert.equal(await page.locator(`#gallery .thumb[data-id="${first}"]`).count(), 0);
  assert.ok(await page.evaluate((id) => document.activeElement === document.querySelector(`#gallery .thumb[data-id="${id}"] .del`), second),
    `the focus is on the next photo's × (${JSON.stringify(await focused())})`);
  // One adapter: the report says why it was all retrained, in passes comparable with the total.
  const left = TRAIN.length;
  assert.equal(await text('#forget-report dl div:nth-child(2) dt'), 'Photo passes replayed');
  assert.equal(await text('#forget-report dl div:nth-child(2) dd'), `${left} of ${left}`);
  assert.match(await text('#forget-report .one-adapter'), /Below 300 photos the model is one adapter/);
  // A class chip chosen by keyboard keeps the focus.
  await page.locator('#classes .chip[data-label="Monuments"]').focus();
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.evaluate(() => [document.activeElement.dataset.label, document.activeElement.getAttribute('aria-checked')]), ['Monuments', 'true']);

  // A test photo whose class the model does not have is not graded.
  await page.click('#gallery .group[data-label="Fish"] .remove-class');
  await page.waitForSelector('#forget-report h4:has-text("Fish")');
  await whenIdle();
  await predictSample('Fish');
  assert.equal(await page.locator('#probs .verdict.ok, #probs .verdict.bad').count(), 0);

  // After a prediction, Erase everything works (twice: it asks to be sure).
  await page.click('#erase-all');
  await page.click('#erase-all');
  await page.waitForSelector('#erase-all-result[data-done="yes"]');
  await whenIdle();
  assert.equal(await text('#stat-photos'), '0');
  assert.ok(await page.locator('#add-samples').isEnabled());
  assert.equal(await text('#predict-hint'), 'Train first, then try a photo.');
  assert.deepEqual(pageErrors, [], 'no error on the page');
});

test('two tabs: each counts its own requests; a stale tab says so and reloads', { skip, timeout: 300_000 }, async () => {
  const one = b.page;
  await one.fill('#class-name', 'mine');
  await one.press('#class-name', 'Enter');
  await whenIdle(one);
  await dropImages(one, [{ name: 'a.png', w: 32, h: 32 }]);
  await one.waitForFunction(() => document.querySelector('#stat-photos').textContent === '1');
  await whenIdle(one);

  const two = await b.context.newPage();
  try {
    await two.goto(`${b.server.url}/`);
    await whenIdle(two);
    assert.ok(await two.evaluate(() => !!navigator.serviceWorker.controller), 'the service worker controls the second tab');
    assert.equal(await text('#stat-photos', two), '1', 'the second tab loaded the saved model');
    await two.evaluate(() => fetch('www/samples/samples.json'));
    await two.waitForFunction(() => document.querySelector('#req-count').textContent === '1');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await text('#req-count', one), '0', 'the first tab counts none of the second tab\'s requests');

    // The second tab saves a change; the first, now stale, cannot save its own.
    await dropImages(two, [{ name: 'b.png', w: 32, h: 32 }]);
    await two.waitForSelector('.toast:has-text("Added 1 photo")');
    await whenIdle(two);
    await one.evaluate(() => document.querySelector('#toasts').replaceChildren());
    await dropImages(one, [{ name: 'c.png', w: 32, h: 32 }]);
    await one.waitForSelector('.toast:has-text("This model was changed in another tab")');
    await whenIdle(one);
    assert.equal(await one.locator('.toast:has-text("Added")').count(), 0, 'no success message');
    await Promise.all([one.waitForEvent('load'), one.click('.toast .toast-action:has-text("Reload")')]);
    await whenIdle(one);
    assert.equal(await text('#stat-photos', one), '2', 'after the reload the first tab has the saved model');
  } finally {
    await two.close();
  }
});
