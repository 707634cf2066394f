// Images, both ends: the facade turns what a page has into something it can post to the engine
// (`toTransferable`), the engine turns that into RGBA pixels at a size it decodes (`toPixels`).

import { InvalidImageError } from './errors.js';

/** Longest side the engine decodes at; larger photos are downscaled first (see README). */
const MAX_DECODE_SIDE = 4096;

/** The shortest side the encoder accepts (the Rust preprocessing's minimum). */
const MIN_SIDE = 16;

/** `value instanceof globalThis[name]`, false where the class does not exist: a Worker or Node
 *  lacks most DOM classes, and a bare `instanceof HTMLImageElement` there throws ReferenceError. */
const is = (value, name) => typeof globalThis[name] === 'function' && value instanceof globalThis[name];

/** What `createImageBitmap` accepts from a page (besides Blob and ImageBitmap, sent as they are). */
const DRAWABLE = ['HTMLImageElement', 'HTMLCanvasElement', 'OffscreenCanvas', 'ImageData', 'HTMLVideoElement', 'VideoFrame'];

/** Turns what a page has into something transferable to the worker (Blob or ImageBitmap). */
export async function toTransferable(image) {
  if (is(image, 'Blob') || is(image, 'ImageBitmap')) return { image, transfer: [] };
  if (!DRAWABLE.some((name) => is(image, name))) {
    throw new InvalidImageError('expected an ImageBitmap, HTMLImageElement, HTMLCanvasElement, ImageData, Blob or File');
  }
  if (is(image, 'HTMLImageElement') && !image.complete) await image.decode().catch(() => {});
  try {
    const bitmap = await createImageBitmap(image);
    return { image: bitmap, transfer: [bitmap] };
  } catch (e) {
    throw new InvalidImageError(`the image cannot be read (${e.message})`);
  }
}

/** The first half of `toPixels`: a Blob decoded to an ImageBitmap (an ImageBitmap as it is).
 *  Apart so that a caller can start decoding the next photo (off its thread, in Chromium)
 *  while it encodes this one (pool.js). */
export async function decode(image) {
  if (is(image, 'ImageBitmap')) return image;
  if (is(image, 'Blob') && image.size === 0) throw new InvalidImageError('the file is empty (0 bytes)');
  try {
    return await createImageBitmap(image);
  } catch (e) {
    throw new InvalidImageError(`not an image this browser can decode (${e.message})`);
  }
}

/** Decodes a Blob or ImageBitmap to `ImageData`, downscaled to at most MAX_DECODE_SIDE; closes
 *  the bitmap it drew and clears the canvas it drew on (the caller wipes the pixels: `encodeWith`). */
export async function toPixels(image) {
  const bitmap = await decode(image);
  let { width, height } = bitmap;
  if (!width || !height) throw new InvalidImageError('the image has no pixels');
  const scale = Math.min(1, MAX_DECODE_SIDE / Math.max(width, height));
  // Named by its own size here: past this point only its scaled-down size is known.
  if (Math.round(Math.min(width, height) * scale) < MIN_SIDE) {
    bitmap.close?.();
    throw new InvalidImageError(Math.min(width, height) < MIN_SIDE
      ? `the image is ${width}×${height}: both sides must be at least ${MIN_SIDE} px`
      : `the image is ${width}×${height}: too narrow (its long side is brought down to ${MAX_DECODE_SIDE} px, and its short side must stay at least ${MIN_SIDE} px)`);
  }
  width = Math.max(1, Math.round(width * scale));
  height = Math.max(1, Math.round(height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close?.();
  const pixels = ctx.getImageData(0, 0, width, height);
  ctx.clearRect(0, 0, width, height);
  return pixels;
}

/** Decodes `image` and encodes it with `engine` (a `WasmEngine`), overwriting the decoded pixels
 *  once the engine has its copy: no photo a forget may later name lingers in this heap. */
export async function encodeWith(engine, image) {
  const img = await toPixels(image);
  try {
    return engine.encodeRgba(img.data, img.width, img.height); // copies the pixels before it returns
  } finally {
    img.data.fill(0);
  }
}
