// Forgotten means gone from the disk: add distinctive photos, save, forget half of them with the
// bound save after each (as an app does), save again, close the browser, then scan every file of
// the persistent profile for windows of the forgotten examples' encodings, taken from an
// export() made before the forget. The retained examples' encodings must be found (the scan sees
// what is stored); the forgotten ones nowhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPkgPage, datasetPhotos } from './browser.mjs';
import { readFiles, windowsOf, filesHolding } from './scan.mjs';

let b;
before(async () => {
  b = await openPkgPage();
});
after(async () => { await b?.close(); });

const OPTS = { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' };
const DIM = 1280;

/** The encoding of sample `id` in snapshot bytes: `str id, str label, u64 dim, dim × f32`. */
function encodingIn(snapshot, id, label) {
  const enc = new TextEncoder();
  const head = Buffer.concat([u32(Buffer.byteLength(id)), Buffer.from(enc.encode(id)), u32(Buffer.byteLength(label)), Buffer.from(enc.encode(label)), u64(DIM)]);
  const at = snapshot.indexOf(head);
  assert.ok(at >= 0, `sample ${id} is in the snapshot`);
  assert.equal(snapshot.indexOf(head, at + 1), -1, 'the sample header is unique');
  return snapshot.subarray(at + head.length, at + head.length + DIM * 4);
}
const u32 = (v) => { const x = Buffer.alloc(4); x.writeUInt32LE(v); return x; };
const u64 = (v) => { const x = Buffer.alloc(8); x.writeBigUInt64LE(BigInt(v)); return x; };

test('forgotten encodings leave no bytes in the browser profile', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'monuments', 'tools', 'fish'], { train: 2, heldOut: 0 });
  const out = await b.page.evaluate(async ({ train, opts }) => {
    const net = await window.legonet.LegoNet.create(opts);
    const items = await Promise.all(train.map(async (t) => ({ image: await window.fetchBlob(t.url), label: t.label })));
    const ids = await net.addExamples(items);
    await net.train();
    await net.save('residue');
    const before = btoa(String.fromCharCode(...await net.export()));
    const forgotten = ids.filter((_, i) => i % 2 === 0);
    for (const id of forgotten) await net.forget(id); // each followed by the bound save
    await net.save('residue');
    const left = net.examples().map((e) => e.id);
    net.dispose();
    const again = await window.legonet.LegoNet.load('residue', opts);
    const reloaded = again.examples().map((e) => e.id);
    again.dispose();
    return { ids, labels: items.map((i) => i.label), forgotten, left, reloaded, before };
  }, { train, opts: OPTS });
  assert.equal(out.left.length, 4);
  assert.deepEqual(out.reloaded.sort(), out.left.sort());
  await b.context.close(); // flushes and closes every file of the profile

  const snapshot = Buffer.from(out.before, 'base64');
  const files = readFiles(b.profile);
  const total = files.reduce((s, f) => s + f.data.length, 0);
  console.log(`[residue] scanned ${files.length} files, ${(total / 1e6).toFixed(1)} MB of the profile`);
  for (let i = 0; i < out.ids.length; i++) {
    const id = out.ids[i];
    const holders = filesHolding(files, windowsOf(encodingIn(snapshot, id, out.labels[i])), b.profile);
    if (out.forgotten.includes(id)) {
      assert.deepEqual(holders, [], `forgotten example ${id}: its encoding is readable in ${holders.join(', ')}`);
    } else {
      // Both slots of the saved model hold it: the scan does see what is stored.
      assert.ok(holders.length >= 1, `retained example ${id} is found on disk (the scan works)`);
      console.log(`[residue] retained ${id}: in ${holders.join(', ')}`);
    }
  }
});

test('forgotten encodings are overwritten in wasm memory', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'monuments', 'tools', 'fish'], { train: 2, heldOut: 0 });
  const m = await openPkgPage(); // its own browser: the first test closed its profile's
  try {
  // The engine on the page's thread (worker: false), so the test can read its wasm memory: the
  // same module instance as the engine's, whose init() returns the existing exports.
  const out = await m.page.evaluate(async ({ train, opts }) => {
    const net = await window.legonet.LegoNet.create({ ...opts, worker: false });
    const items = await Promise.all(train.map(async (t) => ({ image: await window.fetchBlob(t.url), label: t.label })));
    const ids = await net.addExamples(items);
    await net.train();
    await net.predict(items[0].image); // predict's own copy of a photo's encoding, forgotten below
    await net.save('memory');
    await net.compare({ forget: ids[1] }); // the baselines copy every encoding
    const before = await net.export();
    const forgotten = ids.filter((_, i) => i % 2 === 0);
    for (const id of forgotten) await net.forget(id); // each followed by the bound save
    await net.verify();
    const again = await window.legonet.LegoNet.load('memory', { ...opts, worker: false }); // decodes a snapshot
    again.dispose();
    await net.export();
    window.keep = net;
    return { ids, labels: items.map((i) => i.label), forgotten, before: btoa(String.fromCharCode(...before)) };
  }, { train, opts: OPTS });
  const snapshot = Buffer.from(out.before, 'base64');
  const windows = out.ids.map((id, i) => windowsOf(encodingIn(snapshot, id, out.labels[i])).map((w) => [...w]));
  // Searched in the page (the memory is ~100 MB): per window, native indexOf of one of its bytes
  // that is neither 0 nor 255, then the whole window compared there; any byte offset.
  const found = await m.page.evaluate(async (windows) => {
    const wasm = await (await import('/pkg/wasm/legonet.js')).default();
    const mem = new Uint8Array(wasm.memory.buffer);
    const holds = (w) => {
      const p = w.findIndex((x) => x !== 0 && x !== 255);
      for (let at = mem.indexOf(w[p], p); at >= 0; at = mem.indexOf(w[p], at + 1)) {
        let i = 0;
        while (i < w.length && mem[at - p + i] === w[i]) i++;
        if (i === w.length) return true;
      }
      return false;
    };
    return { bytes: mem.length, found: windows.map((ws) => ws.filter(holds).length) };
  }, windows);
  console.log(`[residue] wasm memory: ${(found.bytes / 1e6).toFixed(1)} MB; windows found per example: ${JSON.stringify(found.found)}`);
  for (let i = 0; i < out.ids.length; i++) {
    const n = found.found[i];
    if (out.forgotten.includes(out.ids[i])) assert.equal(n, 0, `forgotten ${out.ids[i]}: ${n}/8 windows of its encoding in wasm memory`);
    else assert.equal(n, 8, `retained ${out.ids[i]} is in wasm memory (the scan works)`);
  }
  } finally {
    await m.close();
  }
});
