// Forgotten means gone from the disk: add distinctive photos, save, forget half of them with the
// bound save after each (as an app does), save again, close the browser, then scan every file of
// the persistent profile for windows of the forgotten examples' encodings, taken from an
// export() made before the forget. The retained examples' encodings must be found (the scan sees
// what is stored); the forgotten ones nowhere. Then the same in the engine's wasm memory, where
// also no block of the encoder's activations of a forgotten photo may remain.
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
    // One lane: every photo is encoded in this instance (encoder Workers are instances of their own).
    const net = await window.legonet.LegoNet.create({ ...opts, worker: false, encoderWorkers: 1 });
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

  // The encoder's activations of a photo: its head's 7×7×1280 outputs, whose in-order mean is the
  // encoding bit for bit. The last photo encoded (the prediction of example 0, forgotten) is the
  // one an encoder that kept its buffers would still hold.
  const encodings = out.ids.map((id, i) => [...new Float32Array(Uint8Array.from(encodingIn(snapshot, id, out.labels[i])).buffer)])
    .filter((_, i) => out.forgotten.includes(out.ids[i]));
  const t0 = Date.now();
  const blocks = await m.page.evaluate(async (encodings) => {
    const P = 49;
    const S = 1280;
    /** Offsets (bytes) in `f` of P rows of S floats whose column means (f32, row order) equal one
     *  of `encodings`. A quick filter first: column sums of the values an activation can take
     *  (ReLU6: 0 to 6; anything else counts 0, so NaNs and huge floats elsewhere in memory
     *  neither poison nor drown the running sums), on each encoding's four largest channels. */
    const scan = (f, encodings) => {
      const pre = new Float64Array(f.length);
      for (let i = 0; i < f.length; i++) pre[i] = (f[i] >= 0 && f[i] <= 6 ? f[i] : 0) + (i >= S ? pre[i - S] : 0);
      const sum = (i) => pre[i + (P - 1) * S] - (i >= S ? pre[i - S] : 0);
      return encodings.map((e) => {
        const top = [...e.keys()].sort((x, y) => e[y] - e[x]).slice(0, 4);
        const hits = [];
        for (let o = 0; o + P * S <= f.length && hits.length < 3; o++) {
          if (!top.every((c) => Math.abs(sum(o + c) / P - e[c]) <= 1e-4 * Math.max(1, e[c]))) continue;
          const acc = new Float32Array(S);
          for (let p = 0; p < P; p++) for (let c = 0; c < S; c++) acc[c] += f[o + p * S + c];
          if (e.every((v, c) => Math.fround(acc[c] / P) === v)) hits.push(o * 4);
        }
        return hits;
      });
    };
    // The scan itself, on a block made here (among NaNs and huge floats): found.
    const made = new Float32Array(4096 + P * S + 4096);
    for (let i = 0; i < 4096; i++) made[i] = i % 3 ? NaN : 3e38;
    for (let i = 4096; i < 4096 + P * S; i++) made[i] = ((i * 2654435761) % 1000) / 250;
    const acc = new Float32Array(S);
    for (let p = 0; p < P; p++) for (let c = 0; c < S; c++) acc[c] += made[4096 + p * S + c];
    const [selfTest] = scan(made, [[...acc].map((v) => Math.fround(v / P))]);
    const wasm = await (await import('/pkg/wasm/legonet.js')).default();
    return { selfTest, hits: scan(new Float32Array(wasm.memory.buffer), encodings) };
  }, encodings);
  assert.deepEqual(blocks.selfTest, [4096 * 4], 'the activation scan finds a block made for it');
  console.log(`[residue] activation blocks of the forgotten examples found: ${JSON.stringify(blocks.hits.map((h) => h.length))} (scan ${Date.now() - t0} ms)`);
  out.forgotten.forEach((id, i) => assert.deepEqual(blocks.hits[i], [], `forgotten ${id}: its activations in wasm memory`));
  } finally {
    await m.close();
  }
});

test("the first photo an engine encodes leaves none of its pixels in memory its buffers outgrew", { timeout: 600_000 }, async () => {
  // The first image grows the encoder's band buffers; the stem's patches (27 floats a pixel: the
  // normalised RGB of a 3×3 window) of a one-colour photo are a pattern found nowhere else.
  const m = await openPkgPage();
  try {
    const out = await m.page.evaluate(async () => {
      const net = await window.legonet.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu', worker: false, encoderWorkers: 1 });
      const photo = async (rgb) => {
        const c = new OffscreenCanvas(224, 224);
        const g = c.getContext('2d');
        g.fillStyle = `rgb(${rgb})`;
        g.fillRect(0, 0, 224, 224);
        return c.convertToBlob({ type: 'image/png' });
      };
      const wasm = await (await import('/pkg/wasm/legonet.js')).default();
      /** Patches of the colour (r, g, b) in wasm memory: per channel 6 taps of its value, then
       *  3 zeros (the bottom rows' padding), as the stem lays them out. */
      const patches = ([r, g, b]) => {
        const f = new Float32Array(wasm.memory.buffer);
        const v = [r, g, b].map((x) => Math.fround((x - 127) / 128));
        let n = 0;
        for (let o = f.indexOf(v[0]); o >= 0 && o + 27 <= f.length; o = f.indexOf(v[0], o + 1)) {
          let ok = true;
          for (let ch = 0; ch < 3 && ok; ch++) for (let k = 0; k < 9 && ok; k++) ok = f[o + ch * 9 + k] === (k < 6 ? v[ch] : 0);
          if (ok) n++;
        }
        return n;
      };
      const [id] = await net.addExamples([{ image: await photo('37,201,113'), label: 'x' }]);
      await net.forget(id);
      const left = patches([37, 201, 113]);
      net.dispose();
      return { left };
    });
    assert.equal(out.left, 0, `${out.left} stem patches of the forgotten first photo are still in wasm memory`);
  } finally {
    await m.close();
  }
});
