// Several instances of one origin. Two tabs open the same saved model; one forgets a photo and
// saves; the other, still holding the photo, tries to save: refused with STALE_MODEL, and the
// saved copy stays the one without the photo (a stale tab cannot bring a forgotten photo back) —
// nor can it under another name, by export, or once the model was deleted and a new one saved
// under its name, nor under the name of a copy it loaded once another tab forgot there (bound
// elsewhere, even after deleting it); and what it is refused leaves its model as it was. Then two engines on one
// page's thread (`worker: false`), which must share nothing.
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

/** A fresh model in tab `i` (window.net) on two photos of two classes, trained and saved as
 *  `name`; resolves to the photos' ids. */
function trainedAndSaved(i, name) {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 2, heldOut: 0 });
  return inTab(i, async (L, { train, opts, name }) => {
    const photos = await Promise.all(train.map(async (t) => ({ image: await (await fetch(t.url)).blob(), label: t.label })));
    window.net?.dispose();
    window.net = await L.LegoNet.create(opts);
    const ids = await window.net.addExamples(photos);
    await window.net.train();
    await window.net.save(name);
    return ids;
  }, { train, opts: OPTS, name });
}

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

test('a stale tab is refused everywhere, with its model untouched, after the model was deleted and saved anew', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 3, heldOut: 0 });
  const ids = await inTab(0, async (L, { train, opts }) => {
    window.photos = await Promise.all(train.map(async (t) => ({ image: await (await fetch(t.url)).blob(), label: t.label })));
    const net = await L.LegoNet.create(opts);
    const ids = await net.addExamples(window.photos);
    await net.train();
    await net.save('lineage');
    window.net?.dispose();
    window.net = net;
    return ids;
  }, { train, opts: OPTS });
  await inTab(1, async (L, { train, opts }) => {
    window.photos = await Promise.all(train.map(async (t) => ({ image: await (await fetch(t.url)).blob(), label: t.label })));
    window.net?.dispose();
    window.net = await L.LegoNet.load('lineage', opts);
  }, { train, opts: OPTS });
  // Tab 1 forgets a photo (saved), then deletes the saved model.
  await inTab(0, async (L, { id }) => { await window.net.forget(id); await window.net.deleteSaved('lineage'); }, { id: ids[0] });
  const deleted = await inTab(1, async (L, { id }) => {
    const hash = async () => (await window.net.audit(window.photos[1].image)).modelHash;
    const before = await hash();
    const codes = {};
    for (const [what, call] of Object.entries({
      forget: () => window.net.forget(id),
      removeClass: () => window.net.removeClass('tools'),
      train: () => window.net.train(),
      save: () => window.net.save('lineage'),
    })) { try { await call(); codes[what] = 'resolved'; } catch (e) { codes[what] = `${e.name} ${e.code}`; } }
    return { codes, same: (await hash()) === before, holds: window.net.examples().some((e) => e.id === id), saved: (await window.net.savedModels()).map((m) => m.name).filter((n) => n.startsWith('lineage')) };
  }, { id: ids[1] });
  const stale = 'StorageError STALE_MODEL';
  assert.deepEqual(deleted.codes, { forget: stale, removeClass: stale, train: stale, save: stale }, 'refused once the model was deleted');
  assert.ok(deleted.same, 'every refusal left the stale model as it was (its hash)');
  assert.ok(deleted.holds, 'and its examples');
  assert.deepEqual(deleted.saved, [], 'nothing written back');
  // Tab 1 saves a new model under the same name (its generation starts again at 1).
  await inTab(0, async (L, { opts }) => {
    const fresh = await L.LegoNet.create(opts);
    await fresh.addExamples(window.photos.slice(3, 4));
    await fresh.train();
    await fresh.save('lineage');
    fresh.dispose();
  }, { opts: OPTS });
  const renewed = await inTab(1, async () => {
    const codes = {};
    for (const [what, call] of Object.entries({
      save: () => window.net.save('lineage'),
      'save under another name': () => window.net.save('lineage-copy'),
      export: () => window.net.export(),
    })) { try { await call(); codes[what] = 'resolved'; } catch (e) { codes[what] = `${e.name} ${e.code}`; } }
    return { codes, saved: (await window.net.savedModels()).map((m) => m.name).filter((n) => n.startsWith('lineage')) };
  });
  assert.deepEqual(renewed.codes, { save: stale, 'save under another name': stale, export: stale });
  assert.deepEqual(renewed.saved, ['lineage']);
  const onDisk = await inTab(0, async (L, { opts }) => {
    const n = await L.LegoNet.load('lineage', opts);
    const ids = n.examples().map((e) => e.id);
    n.dispose();
    return ids;
  }, { opts: OPTS });
  assert.equal(onDisk.length, 1, 'the new model, not the stale tab\'s');
  assert.ok(!onDisk.includes(ids[0]));
});

test('two engines on one page\'s thread (worker: false) share nothing', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 2, heldOut: 0 });
  const out = await inTab(0, async (L, { train, opts }) => {
    const photos = await Promise.all(train.map(async (t) => ({ image: await (await fetch(t.url)).blob(), label: t.label })));
    const a = await L.LegoNet.create({ ...opts, worker: false });
    const ids = await a.addExamples(photos.slice(0, 3));
    await a.train();
    const before = await window.sha256(await a.export());
    const b = await L.LegoNet.create({ ...opts, worker: false });
    await b.addExamples(photos.slice(3));
    await b.train();
    const r = {
      aUnchanged: (await window.sha256(await a.export())) === before,
      aLabels: a.labels(),
      bLabels: b.labels(),
      bCount: b.examples().length,
    };
    r.aForget = await a.forget(ids[0]).then((x) => x.forgotten, (e) => e.code);
    a.dispose();
    r.bAfterA = await b.addExample(photos[0].image, 'animals').then(() => 'added', (e) => `${e.code} ${e.message}`);
    r.bVerify = (await b.train().then(() => b.verify())).ok;
    b.dispose();
    return r;
  }, { train, opts: OPTS });
  assert.deepEqual(out, { aUnchanged: true, aLabels: ['animals', 'tools'], bLabels: ['tools'], bCount: 1, aForget: 1, bAfterA: 'added', bVerify: true });
});

test('a stale tab that deletes or clears the saved copy stays stale', { timeout: 600_000 }, async () => {
  const ids = await trainedAndSaved(0, 'bypass');
  await inTab(1, async (L, { opts }) => { window.net?.dispose(); window.net = await L.LegoNet.load('bypass', opts); }, { opts: OPTS });
  await inTab(0, async (L, { id }) => { await window.net.forget(id); }, { id: ids[0] });
  const out = await inTab(1, async () => {
    const code = async (call) => { try { await call(); return 'resolved'; } catch (e) { return `${e.name} ${e.code}`; } };
    return {
      deleteSaved: await code(() => window.net.deleteSaved('bypass')),
      exportAfterDelete: await code(() => window.net.export()),
      saveAfterDelete: await code(() => window.net.save('bypass')),
      clearStorage: await code(() => window.net.clearStorage()),
      exportAfterClear: await code(() => window.net.export()),
      saveElsewhere: await code(() => window.net.save('elsewhere')),
      saved: (await window.net.savedModels()).map((m) => m.name),
    };
  });
  const stale = 'StorageError STALE_MODEL';
  assert.deepEqual(out, {
    deleteSaved: 'resolved', exportAfterDelete: stale, saveAfterDelete: stale,
    clearStorage: 'resolved', exportAfterClear: stale, saveElsewhere: stale, saved: [],
  });
});

test('a tab that loaded a copy before another tab forgot in it cannot write that name again, even bound elsewhere and after deleting it', { timeout: 600_000 }, async () => {
  const ids = await trainedAndSaved(0, 'origin');
  // Tab 2 loads it and saves it under a name of its own (now bound there), then tab 1 forgets.
  await inTab(1, async (L, { opts }) => {
    window.net?.dispose();
    window.net = await L.LegoNet.load('origin', opts);
    await window.net.save('branch');
  }, { opts: OPTS });
  await inTab(0, async (L, { id }) => { await window.net.forget(id); }, { id: ids[0] });
  const out = await inTab(1, async () => {
    const code = async (call) => { try { await call(); return 'resolved'; } catch (e) { return `${e.name} ${e.code}`; } };
    return {
      save: await code(() => window.net.save('origin')),
      deleteSaved: await code(() => window.net.deleteSaved('origin')),
      saveAfterDelete: await code(() => window.net.save('origin')),
      clearStorage: await code(() => window.net.clearStorage()),
      saveAfterClear: await code(() => window.net.save('origin')),
      // Its own copy is the app's (pkg/README.md): saving that is not refused.
      saveBranch: await code(() => window.net.save('branch')),
      saved: (await window.net.savedModels()).map((m) => m.name).sort(),
    };
  });
  const stale = 'StorageError STALE_MODEL';
  assert.deepEqual(out, {
    save: stale, deleteSaved: 'resolved', saveAfterDelete: stale, clearStorage: 'resolved', saveAfterClear: stale,
    saveBranch: 'resolved', saved: ['branch'],
  });
});
