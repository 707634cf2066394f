// A crash in the middle of a save leaves the old or the new model loadable, never a broken one
// and never neither. First every state a crash can leave the two slot files in (storage.js),
// made by hand through the page's own OPFS; then the real thing: the engine Worker terminated at
// random moments while it saves, and the next load must give one of the two models, verified.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPkgPage, datasetPhotos } from './browser.mjs';

let b;
before(async () => {
  b = await openPkgPage();
  // Slot files of a saved model, read and written behind the library's back.
  await b.page.evaluate(() => {
    const stem = (name) => [...new TextEncoder().encode(name)].map((x) => x.toString(16).padStart(2, '0')).join('');
    const dir = async () => (await navigator.storage.getDirectory()).getDirectoryHandle('legonet-models');
    window.slots = {
      async read(name, s) {
        const h = await (await dir()).getFileHandle(`${stem(name)}.${s}`);
        return new Uint8Array(await (await h.getFile()).arrayBuffer());
      },
      async write(name, s, bytes) {
        const w = await (await (await dir()).getFileHandle(`${stem(name)}.${s}`, { create: true })).createWritable();
        await w.write(bytes);
        await w.close();
      },
      async files() {
        const out = [];
        for await (const k of (await dir()).keys()) out.push(k);
        return out.sort();
      },
      /** Holds slot `s` of `name` open from another Worker (an exclusive sync access handle, so
       *  a save cannot write it); resolves to a function that lets go. */
      async hold(name, s) {
        const holder = new Worker(URL.createObjectURL(new Blob([`
          let h;
          onmessage = async (e) => {
            const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('legonet-models', { create: true });
            if (e.data.hold) h = await (await dir.getFileHandle(e.data.hold, { create: true })).createSyncAccessHandle();
            else h.close();
            postMessage('done');
          };`], { type: 'text/javascript' })));
        const tell = (what) => new Promise((r) => { holder.onmessage = r; holder.postMessage(what); });
        await tell({ hold: `${stem(name)}.${s}` });
        return async () => { await tell({}); holder.terminate(); };
      },
    };
  });
});
after(async () => { await b?.close(); });

const OPTS = { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' };
const inPage = (fn, args) => b.page.evaluate(`(${fn})(window.legonet, ${JSON.stringify(args ?? null)})`);

test('every state a torn save can leave loads the old or the new model, and the load completes the save', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 3, heldOut: 0 });
  const out = await inPage(async (L, { train, opts }) => {
    const { net, ids } = await window.trainedNet(train, opts);
    await net.save('torn'); // generation 1 in both slots
    const oldA = await window.slots.read('torn', 'a');
    await net.forget(ids[0]); // bound save: generation 2 in both slots
    const newA = await window.slots.read('torn', 'a');
    const newB = await window.slots.read('torn', 'b');
    net.dispose();
    const count = async () => {
      try {
        const n = await L.LegoNet.load('torn', opts);
        const r = { examples: n.examples().length, ok: (await n.verify()).ok };
        n.dispose();
        // The load completed the torn save: both slots now hold the copy it loaded.
        const [a, bb] = [await window.slots.read('torn', 'a'), await window.slots.read('torn', 'b')];
        r.slotsEqual = a.length === bb.length && a.every((v, i) => v === bb[i]);
        return r;
      } catch (e) { return { error: `${e.name} ${e.code}` }; }
    };
    const zeroHeader = (x) => { const y = x.slice(); y.fill(0, 0, 64); return y; };
    const flip = (x) => { const y = x.slice(); y[y.length - 9] ^= 1; return y; };
    const states = {
      // The next save writes slot a first (header zeroed, then payload, then header).
      'a: header zeroed, old payload': [zeroHeader(newA), newB],
      'a: header zeroed, payload half written': [zeroHeader(oldA).subarray(0, oldA.length >> 1), newB],
      'a: complete, b: old (crash between the two writes)': [newA, oldA],
      'a: complete, b: header zeroed': [newA, zeroHeader(oldA)],
      'a: complete, b: truncated': [newA, oldA.subarray(0, 100)],
      'a: one bit flipped in its payload, b: old': [flip(newA), oldA],
      'a: empty file, b: complete': [new Uint8Array(0), newB],
    };
    const results = {};
    for (const [what, [a, bb]] of Object.entries(states)) {
      await window.slots.write('torn', 'a', a);
      await window.slots.write('torn', 'b', bb);
      results[what] = await count();
    }
    // From the crash-between-writes state, a load and a save bring both slots to the next
    // generation: the stale slot (which still held the forgotten example) is overwritten.
    await window.slots.write('torn', 'a', newA);
    await window.slots.write('torn', 'b', oldA);
    const n = await L.LegoNet.load('torn', opts);
    await n.save('torn');
    n.dispose();
    const [a, bb] = [await window.slots.read('torn', 'a'), await window.slots.read('torn', 'b')];
    const gen = (x) => new DataView(x.buffer).getFloat64(8, true);
    const resaved = { generations: [gen(a), gen(bb)], same: a.length === bb.length && a.every((v, i) => v === bb[i]) };
    return { total: ids.length, results, resaved };
  }, { train, opts: OPTS });
  const [oldN, newN] = [out.total, out.total - 1];
  const expect = {
    'a: header zeroed, old payload': newN,
    'a: header zeroed, payload half written': newN,
    'a: complete, b: old (crash between the two writes)': newN,
    'a: complete, b: header zeroed': newN,
    'a: complete, b: truncated': newN,
    'a: one bit flipped in its payload, b: old': oldN,
    'a: empty file, b: complete': newN,
  };
  for (const [what, r] of Object.entries(out.results)) {
    assert.deepEqual(r, { examples: expect[what], ok: true, slotsEqual: true }, what);
  }
  assert.deepEqual(out.resaved, { generations: [3, 3], same: true }, 'the next save overwrites the stale slot');
});

test('clearStorage removes every slot file', { timeout: 300_000 }, async () => {
  const files = await inPage(async (L, { opts }) => {
    const net = await L.LegoNet.create(opts);
    const before = await window.slots.files();
    await net.clearStorage();
    net.dispose();
    return { before, after: await window.slots.files() };
  }, { opts: OPTS });
  assert.deepEqual(files.before, ['746f726e.a', '746f726e.b'], 'the slots of "torn"');
  assert.deepEqual(files.after, [], 'none left');
});

test('the engine Worker killed at random moments of a save always leaves a loadable model', { timeout: 900_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'monuments', 'tools'], { train: 4, heldOut: 0 });
  const out = await inPage(async (L, { train, opts }) => {
    // ~120 examples (the 12 photos under many ids): a snapshot of ~0.7 MB, so a save takes a while.
    const blobs = await Promise.all(train.map(async (t) => ({ image: await window.fetchBlob(t.url), label: t.label })));
    const items = Array.from({ length: 10 }, () => blobs).flat();
    let net = await L.LegoNet.create(opts);
    await net.addExamples(items);
    await net.train();
    const t = performance.now();
    await net.save('crash');
    const saveMs = performance.now() - t;
    net.dispose();
    const rng = (() => { let s = 12345; return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32); })();
    const trials = [];
    for (let i = 0; i < 16; i++) {
      net = await L.LegoNet.load('crash', opts);
      const before = net.examples().length;
      const delay = rng() * saveMs * 3; // forget (a few ms), then the bound save
      const forgetting = net.forget(net.examples()[0].id).then(() => 'completed', (e) => `rejected: ${e.name}`);
      await new Promise((r) => setTimeout(r, delay));
      net.dispose(); // terminates the Worker wherever it is
      const outcome = await forgetting;
      const reloaded = await L.LegoNet.load('crash', opts);
      const after = reloaded.examples().length;
      const ok = (await reloaded.verify()).ok;
      reloaded.dispose();
      trials.push({ delay: Math.round(delay * 10) / 10, before, after, ok, outcome });
    }
    return { saveMs, trials };
  }, { train, opts: OPTS });
  console.log(`[storage] one save: ${out.saveMs.toFixed(1)} ms; trials: ${JSON.stringify(out.trials)}`);
  for (const r of out.trials) {
    assert.ok(r.ok, `verify after a kill at ${r.delay} ms`);
    assert.ok(r.after === r.before || r.after === r.before - 1, `after a kill at ${r.delay} ms the saved model is the old or the new one (${r.before} → ${r.after})`);
  }
  const kept = out.trials.filter((r) => r.after === r.before).length;
  console.log(`[storage] kills leaving the old model: ${kept}, the new one: ${out.trials.length - kept}`);
});

test('a forget whose save fails keeps the forget, says so, and the next save completes it', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 3, heldOut: 0 });
  const out = await inPage(async (L, { train, opts }) => {
    const { net, ids } = await window.trainedNet(train, opts);
    await net.save('held');
    // Another context holds slot b open: the bound save after the forget writes slot a, then
    // fails on b — the old copy, with the photo, stays in b.
    const release = await window.slots.hold('held', 'b');
    let failed;
    try { await net.forget(ids[0]); failed = 'resolved'; } catch (e) { failed = { code: e.code, forgotten: e.report?.forgotten, receipt: !!e.report?.receipt }; }
    const mirrored = !net.examples().some((e) => e.id === ids[0]);
    await release();
    // Not stale to itself: the next change saves, and both slots lose the photo.
    const next = await net.forget(ids[1]).then((r) => r.forgotten, (e) => `${e.name} ${e.code}`);
    const slots = [await window.slots.read('held', 'a'), await window.slots.read('held', 'b')];
    const same = slots[0].length === slots[1].length && slots[0].every((v, i) => v === slots[1][i]);
    net.dispose();
    const again = await L.LegoNet.load('held', opts);
    const onDisk = again.examples().map((e) => e.id);
    again.dispose();
    return { failed, mirrored, next, same, onDisk, ids };
  }, { train, opts: OPTS });
  assert.deepEqual(out.failed, { code: 'STORAGE', forgotten: 1, receipt: true }, 'the failed save is reported with the forget it follows');
  assert.ok(out.mirrored, 'the facade shows the forget that happened');
  assert.equal(out.next, 1, 'the next forget saves (the instance is not stale to itself)');
  assert.ok(out.same, 'both slots hold the same, newest copy');
  assert.deepEqual([...out.onDisk].sort(), out.ids.slice(2).sort(), 'neither forgotten photo is on disk');
});

for (const worker of [true, false]) {
  const where = worker ? 'in the engine Worker' : 'worker: false, on the main thread: no sync access handle';
  test(`a save that fails after its first slot binds the copy it wrote, so later forgets reach it; deleting it leaves no file (${where})`, { timeout: 600_000 }, async () => {
    const { train } = datasetPhotos(['animals', 'tools'], { train: 2, heldOut: 0 });
    const out = await inPage(async (L, { train, opts }) => {
      const { net, ids } = await window.trainedNet(train, opts);
      // Slot b of the new name is held open elsewhere: the save writes slot a, then fails.
      const release = await window.slots.hold('partial', 'b');
      const saved = await net.save('partial').then(() => 'resolved', (e) => e.code);
      await release();
      const forgot = await net.forget(ids[0]).then((r) => r.forgotten, (e) => e.code);
      net.dispose();
      const again = await L.LegoNet.load('partial', opts);
      const onDisk = again.examples().map((e) => e.id);
      await again.deleteSaved('partial');
      again.dispose();
      return { saved, forgot, holds: onDisk.includes(ids[0]), count: onDisk.length, total: ids.length, files: await window.slots.files() };
    }, { train, opts: { ...OPTS, worker } });
    assert.equal(out.saved, 'STORAGE');
    assert.equal(out.forgot, 1);
    assert.ok(!out.holds, 'the forget reached the copy the failed save had written');
    assert.equal(out.count, out.total - 1);
    assert.deepEqual(out.files.filter((f) => f.startsWith('7061727469616c.')), [], 'no slot of "partial" left');
  });
}

test('a clearStorage that fails part way leaves the instance current for the copy it deleted', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 2, heldOut: 0 });
  const out = await inPage(async (L, { train, opts }) => {
    const { net } = await window.trainedNet(train, opts);
    await net.save('mine');
    // A slot file of a name after "mine" is held open elsewhere: the clear deletes "mine", then fails.
    const release = await window.slots.hold('zz-held', 'a');
    const cleared = await net.clearStorage().then(() => 'resolved', (e) => e.code);
    const left = (await net.savedModels()).map((m) => m.name);
    await release();
    const after = {};
    for (const [what, call] of Object.entries({ export: () => net.export(), save: () => net.save('mine'), other: () => net.save('other') })) {
      after[what] = await call().then(() => 'resolved', (e) => e.code);
    }
    await net.clearStorage();
    net.dispose();
    return { cleared, left, after, files: await window.slots.files() };
  }, { train, opts: OPTS });
  assert.equal(out.cleared, 'STORAGE');
  assert.deepEqual(out.left, [], '"mine" was deleted before the failure');
  assert.deepEqual(out.after, { export: 'resolved', save: 'resolved', other: 'resolved' }, 'not stale about its own delete');
  assert.deepEqual(out.files, []);
});


test('weights: an error page served in their place is fetched again once, past every cache, and not cached; a cached copy that does not load is fetched again', { timeout: 600_000 }, async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { openBrowser } = await import('./browser.mjs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-weights-'));
  const real = path.resolve(import.meta.dirname, '../weights/efficientnet-lite0.safetensors');
  fs.writeFileSync(path.join(dir, 'w.safetensors'), '<!doctype html><title>Not the weights</title>');
  const c = await openBrowser({ mounts: { '/flaky': dir } });
  try {
    await c.page.goto(`${c.server.url}/tests/pages/pkg.html`);
    await c.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
    // What one create() gives, and how many times it asked the server for the weights.
    const create = async () => {
      const asked = () => c.served.filter((r) => r.url === '/flaky/w.safetensors').length;
      const before = asked();
      const out = await c.page.evaluate(async () => {
        try {
          (await window.legonet.LegoNet.create({ encoderUrl: '/flaky/w.safetensors', backend: 'cpu' })).dispose();
          return 'ok';
        } catch (e) { return e.code; }
      });
      await new Promise((r) => setTimeout(r, 300)); // the server logs a request once it has sent it all
      return { out, fetched: asked() - before };
    };
    assert.deepEqual(await create(), { out: 'INVALID_WEIGHTS', fetched: 2 }, 'asked again, once, in case a cache on the way served the page');
    fs.copyFileSync(real, path.join(dir, 'w.safetensors')); // the server mended
    assert.deepEqual(await create(), { out: 'ok', fetched: 1 }, 'fetched again, not the error page from the cache');
    assert.deepEqual(await create(), { out: 'ok', fetched: 0 }, 'weights that loaded are cached');
    // A cached copy that does not load (damaged, or written by an older version unchecked).
    await c.page.evaluate(async () => {
      const cache = await caches.open('legonet-weights-v1');
      await cache.put(new URL('/flaky/w.safetensors', location.href).href, new Response('<!doctype html>'));
    });
    assert.deepEqual(await create(), { out: 'ok', fetched: 1 }, 'dropped and fetched again');
    assert.deepEqual(await create(), { out: 'ok', fetched: 0 });
  } finally {
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
