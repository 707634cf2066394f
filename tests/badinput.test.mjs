// Bad image input in the browser: random bytes, image headers with random or mutated bodies,
// PNG headers declaring huge sizes, 1×N / N×1 / very narrow images. Every case must be refused
// with InvalidImageError INVALID_IMAGE and leave the saved model byte-identical — or, where a
// mutated photo still decodes, be added and then forgotten, which must give the model (its hash)
// back bit for bit. (The CLI's half of this is `random_and_mutated_bytes_never_panic` in the Rust tests.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { openPkgPage, datasetPhotos } from './browser.mjs';

let b;
before(async () => {
  b = await openPkgPage();
});
after(async () => { await b?.close(); });

/** A PNG (valid CRCs) whose header declares w×h, with one row of pixel data. */
function pngDeclaring(w, h) {
  const chunk = (kind, data) => {
    const body = Buffer.concat([Buffer.from(kind), data]);
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr.set([8, 2, 0, 0, 0], 8);
  const idat = zlib.deflateSync(Buffer.alloc(1 + 3 * Math.min(w, 64)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

test('bad image bytes are refused with INVALID_IMAGE and leave the model untouched', { timeout: 900_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 2, heldOut: 0 });
  const crafted = [[100_000, 100_000], [40_000, 1], [1, 40_000], [16_385, 300], [2_000_000_000, 2_000_000_000]]
    .map(([w, h]) => ({ what: `PNG declaring ${w}×${h}`, b64: pngDeclaring(w, h).toString('base64') }));
  const out = await b.page.evaluate(async ({ train, crafted }) => {
    const { net, items } = await window.trainedNet(train, { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' });
    const photos = items.map((it) => it.image);
    // The saved bytes: a refused photo must leave them as they were.
    const digest = async () => window.sha256(await net.export());
    let saved = await digest();
    // The model's state (its hash; the snapshot also carries the deletion-receipt chain, which
    // is history): an added-then-forgotten photo must give it back bit for bit.
    const state = async () => (await net.audit(photos[0])).modelHash;
    const original = await state();
    const jpeg = new Uint8Array(await photos[0].arrayBuffer());
    let s = 99;
    const rand = (n) => { s = (s * 1103515245 + 12345) >>> 0; return s % n; };
    const canvas = async (w, h, type = 'image/png') => {
      const c = new OffscreenCanvas(w, h);
      c.getContext('2d').fillRect(0, 0, w, h);
      return c.convertToBlob({ type });
    };
    const cases = [];
    for (const c of crafted) cases.push({ what: c.what, blob: new Blob([Uint8Array.from(atob(c.b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' }) });
    for (const [w, h] of [[1, 500], [500, 1], [15, 300], [16, 2000], [2000, 16], [8000, 20]]) cases.push({ what: `${w}×${h} PNG`, blob: await canvas(w, h) });
    for (const [w, h] of [[1, 1], [1, 300]]) {
      cases.push({ what: `${w}×${h} ImageData`, image: new ImageData(w, h) });
      cases.push({ what: `${w}×${h} canvas`, image: (() => { const c = document.createElement('canvas'); c.width = w; c.height = h; return c; })() });
    }
    cases.push({ what: 'empty file', blob: new Blob([]) });
    const heads = [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0xff, 0xd8, 0xff, 0xe0], [0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50], [0x47, 0x49, 0x46, 0x38, 0x39, 0x61], []];
    for (let i = 0; i < 300; i++) {
      const head = heads[i % heads.length];
      const bytes = new Uint8Array(head.length + rand(2000));
      bytes.set(head);
      for (let j = head.length; j < bytes.length; j++) bytes[j] = rand(256);
      cases.push({ what: `random bytes ${i}`, blob: new Blob([bytes]) });
    }
    for (let i = 0; i < 200; i++) {
      const bytes = jpeg.slice(0, i % 4 === 0 ? rand(jpeg.length) : jpeg.length);
      for (let k = 0; k < 1 + rand(8); k++) bytes[rand(bytes.length)] = rand(256);
      cases.push({ what: `mutated JPEG ${i}`, blob: new Blob([bytes], { type: 'image/jpeg' }) });
    }
    const results = { refused: 0, decoded: 0, failures: [] };
    for (const c of cases) {
      try {
        const id = await net.addExample(c.image ?? c.blob, 'animals');
        results.decoded++;
        await net.forget(id);
        if (await state() !== original) results.failures.push(`${c.what}: added then forgotten, the model differs`);
        saved = await digest(); // one more receipt in the chain
      } catch (e) {
        if (e.name !== 'InvalidImageError' || e.code !== 'INVALID_IMAGE') results.failures.push(`${c.what}: ${e.name} ${e.code} ${e.message}`);
        else results.refused++;
        if (await digest() !== saved) results.failures.push(`${c.what}: refused, but the saved model changed`);
      }
    }
    const ok = (await net.verify()).ok;
    const still = await net.addExample(photos[1], 'tools', { id: 'after' }).then(() => true, () => false);
    return { ...results, cases: cases.length, ok, still, crafted: cases.slice(0, 5).map((c) => c.what) };
  }, { train, crafted });
  console.log(`[badinput] ${out.cases} cases: ${out.refused} refused with INVALID_IMAGE, ${out.decoded} still decodable (added, then forgotten exactly)`);
  assert.deepEqual(out.failures, []);
  assert.ok(out.refused >= out.cases - 200, 'every case but some mutated JPEGs is refused');
  assert.ok(out.ok, 'verify after all the bad input');
  assert.ok(out.still, 'a good photo is still accepted');
});

test('arguments of the wrong kind get a typed error and leave the model untouched', { timeout: 600_000 }, async () => {
  const { train } = datasetPhotos(['animals', 'tools'], { train: 2, heldOut: 0 });
  const out = await b.page.evaluate(async ({ train }) => {
    const L = window.legonet;
    const { net, items } = await window.trainedNet(train, { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' });
    const photos = items.map((it) => it.image);
    const digest = async () => window.sha256(await net.export());
    const saved = await digest();
    const closed = await createImageBitmap(photos[0]);
    closed.close();
    // The same photo from another origin (localhost, not 127.0.0.1) without CORS: tainted.
    const foreign = new Image();
    foreign.src = new URL(train[0].url, `http://localhost:${location.port}`).href;
    await foreign.decode();
    const calls = {
      'addClass(123)': () => net.addClass(123),
      'addClass({})': () => net.addClass({}),
      'addClass(true)': () => net.addClass(true),
      "addClass('')": () => net.addClass(''),
      "addClass('x'.repeat(1025))": () => net.addClass('x'.repeat(1025)),
      "addExample(photo, 'é'.repeat(513))": () => net.addExample(photos[0], 'é'.repeat(513)),
      'removeClass(undefined)': () => net.removeClass(undefined),
      'forget(42)': () => net.forget(42),
      "forget([''])": () => net.forget(['']),
      'compare({ forget: [1] })': () => net.compare({ forget: [1] }),
      "addExample(photo, 'animals', { id: 42 })": () => net.addExample(photos[0], 'animals', { id: 42 }),
      "addExamples([photo with id ''])": () => net.addExamples([{ image: photos[0], label: 'animals', id: '' }]),
      "addExamples([good, { image: 'x' }])": () => net.addExamples([{ image: photos[0], label: 'animals' }, { image: 'x', label: 'tools' }]),
      'addExamples([good, an image from another origin])': () => net.addExamples([{ image: photos[0], label: 'animals' }, { image: foreign, label: 'tools' }]),
      'predict(a closed ImageBitmap)': () => net.predict(closed),
      "addExample(a closed ImageBitmap, 'animals')": () => net.addExample(closed, 'animals'),
      'checkReceipts({ f() {} })': () => net.checkReceipts({ f() {} }),
      'save(undefined)': () => net.save(undefined),
      "save('')": () => net.save(''),
      'deleteSaved(7)': () => net.deleteSaved(7),
      "save('é'.repeat(51)) (102 UTF-8 bytes)": () => net.save('é'.repeat(51)),
      "save('\\uD800') (a lone surrogate)": () => net.save('\uD800'),
      "LegoNet.load('\\uD800')": () => L.LegoNet.load('\uD800'),
      'LegoNet.import(a Blob)': () => L.LegoNet.import(new Blob([new Uint8Array(8)])),
      "LegoNet.create({ encoderUrl: 'http://[' })": () => L.LegoNet.create({ encoderUrl: 'http://[' }),
      'LegoNet.import(a detached ArrayBuffer)': async () => {
        const buf = (await net.export()).buffer;
        structuredClone(buf, { transfer: [buf] }); // handed on elsewhere, as postMessage would
        return L.LegoNet.import(buf, { encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' });
      },
      'train(null)': () => net.train(null),
      "addExamples([], null)": () => net.addExamples([], null),
    };
    const results = {};
    for (const [what, call] of Object.entries(calls)) {
      try { await call(); results[what] = 'resolved'; } catch (e) { results[what] = `${e.name} ${e.code}${/example 1:/.test(e.message) ? ' (example 1)' : ''}`; }
    }
    const unchanged = (await digest()) === saved;
    const ok = (await net.verify()).ok;
    net.dispose();
    return { results, unchanged, ok };
  }, { train });
  const invalid = 'LegoNetError INVALID_INPUT';
  assert.deepEqual(out.results, {
    'addClass(123)': invalid,
    'addClass({})': invalid,
    'addClass(true)': invalid,
    "addClass('')": invalid,
    "addClass('x'.repeat(1025))": invalid,
    "addExample(photo, 'é'.repeat(513))": invalid,
    'removeClass(undefined)': invalid,
    'forget(42)': invalid,
    "forget([''])": invalid,
    'compare({ forget: [1] })': invalid,
    "addExample(photo, 'animals', { id: 42 })": invalid,
    "addExamples([photo with id ''])": invalid,
    "addExamples([good, { image: 'x' }])": 'InvalidImageError INVALID_IMAGE (example 1)',
    'addExamples([good, an image from another origin])': 'InvalidImageError INVALID_IMAGE (example 1)',
    'predict(a closed ImageBitmap)': 'InvalidImageError INVALID_IMAGE',
    "addExample(a closed ImageBitmap, 'animals')": 'InvalidImageError INVALID_IMAGE',
    'checkReceipts({ f() {} })': 'ReceiptError INVALID_RECEIPT',
    'save(undefined)': invalid,
    "save('')": invalid,
    'deleteSaved(7)': invalid,
    "save('é'.repeat(51)) (102 UTF-8 bytes)": invalid,
    "save('\\uD800') (a lone surrogate)": invalid,
    "LegoNet.load('\\uD800')": invalid,
    'LegoNet.import(a Blob)': invalid,
    "LegoNet.create({ encoderUrl: 'http://[' })": 'LegoNetError INVALID_CONFIG',
    'LegoNet.import(a detached ArrayBuffer)': invalid,
    'train(null)': 'resolved',
    "addExamples([], null)": 'resolved',
  });
  assert.ok(out.unchanged, 'the exported model is byte-identical after every refusal');
  assert.ok(out.ok, 'verify after the bad calls');
});

test('an engine Worker whose script does not load: BACKEND, not a crash', { timeout: 300_000 }, async () => {
  await b.context.route('**/pkg/src/worker.js', (route) => route.fulfill({ status: 404, body: 'not found' }));
  try {
    const out = await b.page.evaluate(async () => {
      try {
        (await window.legonet.LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu' })).dispose();
        return 'resolved';
      } catch (e) { return `${e.name} ${e.code}`; }
    });
    assert.equal(out, 'LegoNetError BACKEND');
  } finally {
    await b.context.unroute('**/pkg/src/worker.js');
  }
});
