// Two tabs of one origin open the same saved model; one forgets a photo and saves; the other,
// still holding the photo, tries to save: refused with STALE_MODEL, and the saved copy stays
// the one without the photo (a stale tab cannot bring a forgotten photo back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, datasetPhotos } from './browser.mjs';

let b;
let tabs;
before(async () => {
  b = await openBrowser();
  const second = await b.context.newPage();
  tabs = [b.page, second];
  for (const page of tabs) {
    await page.goto(`${b.server.url}/tests/pages/pkg.html`);
    await page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  }
});
after(async () => { await b?.close(); });

const OPTS = { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' };
const inTab = (i, fn, args) => tabs[i].evaluate(`(${fn})(window.legonet, ${JSON.stringify(args ?? null)})`);

test('a stale tab cannot save a forgotten photo back', async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 3, heldOut: 0 });
  const ids = await inTab(0, async (L, { train, opts }) => {
    const net = await L.LegoNet.create(opts);
    const items = await Promise.all(train.map(async (t) => ({ image: await (await fetch(t.url)).blob(), label: t.label })));
    const ids = await net.addExamples(items);
    await net.train();
    await net.save('shared');
    window.net = net;
    return ids;
  }, { train, opts: OPTS });
  // Tab 2 opens the saved model; tab 1 then forgets a photo (its bound save follows).
  const loaded = await inTab(1, async (L, { opts }) => {
    window.net = await L.LegoNet.load('shared', opts);
    return window.net.examples().map((e) => e.id);
  }, { opts: OPTS });
  assert.deepEqual([...loaded].sort(), [...ids].sort());
  await inTab(0, async (L, { id }) => { await window.net.forget(id); }, { id: ids[0] });
  // Tab 2 still holds the photo: both its explicit save and its bound saves are refused.
  const stale = await inTab(1, async () => {
    const codes = [];
    try { await window.net.save('shared'); } catch (e) { codes.push([e.name, e.code]); }
    try { await window.net.forget(window.net.examples().at(-1).id); } catch (e) { codes.push([e.name, e.code]); }
    return codes;
  });
  assert.deepEqual(stale, [['StorageError', 'STALE_MODEL'], ['StorageError', 'STALE_MODEL']]);
  // The saved copy is tab 1's: the forgotten photo is not in it. Reloading makes tab 2 current.
  const after = await inTab(1, async (L, { opts }) => {
    window.net.dispose();
    window.net = await L.LegoNet.load('shared', opts);
    const ids = window.net.examples().map((e) => e.id);
    await window.net.save('shared'); // current again: accepted
    return ids;
  }, { opts: OPTS });
  assert.ok(!after.includes(ids[0]), 'the forgotten photo stays forgotten');
  assert.equal(after.length, ids.length - 1);
});
