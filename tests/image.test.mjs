// The package's image handling outside a page (plain Node, no browser): a Worker or Node has
// few DOM classes, and a bare `instanceof HTMLImageElement` there throws ReferenceError instead
// of answering false. Globals are stubbed only as far as each case needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toTransferable, toPixels } from '../pkg/src/image.js';

/** Runs `fn` with `globals` installed on globalThis, then restores what was there. */
async function withGlobals(globals, fn) {
  const saved = Object.entries(Object.getOwnPropertyDescriptors(globalThis)).filter(([k]) => k in globals);
  for (const [k, v] of Object.entries(globals)) {
    Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  }
  try { return await fn(); } finally {
    for (const k of Object.keys(globals)) delete globalThis[k];
    for (const [k, d] of saved) Object.defineProperty(globalThis, k, d);
  }
}

const fakeBitmap = { width: 2, height: 2, close() {} };
const createImageBitmap = async () => fakeBitmap;

test('Node has none of the DOM image classes (else this file proves nothing)', () => {
  for (const name of ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'ImageBitmap', 'OffscreenCanvas', 'ImageData', 'VideoFrame']) {
    assert.equal(typeof globalThis[name], 'undefined', name);
  }
});

test('a canvas in a Worker (OffscreenCanvas, no HTMLImageElement) becomes a bitmap', async () => {
  class OffscreenCanvas {}
  const out = await withGlobals({ OffscreenCanvas, createImageBitmap }, () => toTransferable(new OffscreenCanvas()));
  assert.deepEqual(out, { image: fakeBitmap, transfer: [fakeBitmap] });
});

test('a Blob passes through untouched', async () => {
  const blob = new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });
  assert.deepEqual(await toTransferable(blob), { image: blob, transfer: [] });
});

test('something that is no image rejects with INVALID_IMAGE, not ReferenceError', async () => {
  for (const bad of [{}, 'cat.png', null, new Uint8Array(4)]) {
    await assert.rejects(toTransferable(bad), { name: 'InvalidImageError', code: 'INVALID_IMAGE' });
  }
});

test('an <img> still loading is decoded first (where HTMLImageElement exists)', async () => {
  const calls = [];
  class HTMLImageElement { complete = false; }
  const make = async (img) => { calls.push(img.complete ? 'bitmap' : 'bitmap of a loading image'); return fakeBitmap; };
  const img = new HTMLImageElement();
  img.decode = async () => { calls.push('decode'); img.complete = true; };
  await withGlobals({ HTMLImageElement, createImageBitmap: make }, () => toTransferable(img));
  assert.deepEqual(calls, ['decode', 'bitmap']);
});

test('the engine side rejects an empty or undecodable Blob with INVALID_IMAGE where ImageBitmap is absent', async () => {
  await assert.rejects(toPixels(new Blob([])), { code: 'INVALID_IMAGE', message: /empty/ });
  // No createImageBitmap in Node: the decode fails, as a typed error.
  await assert.rejects(toPixels(new Blob(['not an image'])), { code: 'INVALID_IMAGE', message: /not an image/ });
});
