// The demo against axe-core's WCAG 2.1 A/AA and best-practice rules in headless Chromium, at each
// step a visitor takes (empty, photos added, trained, a prediction, an erase, the comparison, the
// credits), at 320 px too; and what screen readers are told: each loading phase once (not every
// file of it), training's outcome but not its progress, and an erase in one short sentence
// rather than the whole report.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { openBrowser } from './browser.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const missing = ['pkg/wasm/legonet_bg.wasm', 'weights/efficientnet-lite0-f16.safetensors'].filter((f) => !fs.existsSync(path.join(ROOT, f)));
const skip = missing.length ? `not built: ${missing.join(', ')}` : false;

let b;
before(async () => { if (!skip) b = await openBrowser(); });
after(async () => { await b?.close(); });

/** axe's violations on the page as it is now, one line each (rule, impact, first targets). */
async function violations(page) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: AXE });
  // Colours are read as they settle, not half way through a fade.
  await page.evaluate(() => Promise.all(document.getAnimations()
    .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity) // not the spinners
    .map((a) => a.finished.catch(() => {}))));
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }));
  return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

test('the demo passes axe (WCAG 2.1 AA and best practice) at every step, and tells screen readers little', { skip, timeout: 600_000 }, async () => {
  const { page } = b;
  // Everything the two live regions are told, in order.
  await page.addInitScript(() => {
    window.liveLog = [];
    addEventListener('DOMContentLoaded', () => {
      for (const id of ['boot-live', 'forget-live', 'train-result']) {
        const el = document.getElementById(id);
        new MutationObserver(() => window.liveLog.push([id, el.textContent, el.getAttribute('aria-busy') === 'true']))
          .observe(el, { childList: true, characterData: true, subtree: true, attributes: true, attributeFilter: ['aria-busy'] });
      }
    });
  });
  const idle = () => page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 300_000 });
  const found = {};
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${b.server.url}/`);
  await idle();
  found.empty = await violations(page);
  await page.click('#add-samples');
  await page.waitForFunction(() => document.querySelectorAll('#gallery .thumb img').length >= 20, null, { timeout: 300_000 });
  await idle();
  found.photos = await violations(page);
  await page.click('#train-btn');
  await page.waitForSelector('#train-result[data-done="yes"]', { timeout: 300_000 });
  await idle();
  found.trained = await violations(page);
  await page.setViewportSize({ width: 320, height: 640 });
  found['trained, 320 px'] = await violations(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.locator('.testphoto').first().click();
  await page.waitForFunction(() => document.querySelector('#probs')?.dataset.top);
  await idle();
  found.predicted = await violations(page);
  // Over the photo, Choose… and Live camera show on hover only, and for the keyboard on focus.
  assert.ok(await page.evaluate(() => document.getElementById('predict-placeholder').classList.contains('over-image')));
  await page.mouse.move(0, 0);
  await page.focus('#predict-file-btn');
  await page.waitForFunction(() => getComputedStyle(document.getElementById('predict-placeholder')).opacity === '1');
  await page.evaluate(() => document.activeElement.blur());
  await page.waitForFunction(() => getComputedStyle(document.getElementById('predict-placeholder')).opacity === '0');
  await page.locator('#gallery .thumb .del').first().click();
  await page.waitForSelector('#forget-report[data-forgotten="1"]');
  await idle();
  found.erased = await violations(page);
  await page.click('#compare-btn');
  await page.waitForFunction(() => document.querySelector('#charts')?.dataset.methods, null, { timeout: 300_000 });
  await idle();
  found.compared = await violations(page);
  await page.click('#show-credits');
  await page.waitForSelector('#credits[open]');
  found.credits = await violations(page);
  for (const [step, v] of Object.entries(found)) console.log(`[a11y] ${step}: ${v.length ? v.join('; ') : 'no violations'}`);
  assert.deepEqual(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length)), {}, 'no axe violation at any step');

  const live = await page.evaluate(() => window.liveLog);
  console.log(`[a11y] live regions: ${JSON.stringify(live)}`);
  const boot = live.filter(([id]) => id === 'boot-live').map(([, t]) => t);
  assert.ok(boot.length > 0 && boot.length <= 6, `a few loading phases, each once (${boot.length})`);
  assert.ok(boot.every((t) => !/\d+\/\d+ files/.test(t)), 'no file counts read out');
  // Training: its progress is read while the region is busy (not announced), the outcome after.
  const training = live.filter(([id]) => id === 'train-result');
  assert.ok(training.some(([, t, busy]) => /^Training/.test(t) && busy), 'progress shown while busy');
  assert.ok(training.filter(([, t]) => /^Training/.test(t)).every(([, , busy]) => busy), 'no progress announced');
  assert.deepEqual(training.at(-1).slice(2), [false], 'the outcome is announced');
  assert.match(training.at(-1)[1], /^✓ Trained /);
  const erase = live.filter(([id, t]) => id === 'forget-live' && t).map(([, t]) => t);
  assert.equal(erase.length, 1);
  assert.match(erase[0], /^Erased 1 photo .*\. 1 of 1 adapters retrained in /);
  assert.ok(erase[0].length < 120, erase[0]);
});
