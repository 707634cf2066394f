// Test page: runs the wasm encoder on the shared fixtures and reports numbers to the test.
// `WasmEncoder` is only in the test/bench wasm (tests/wasm/, cargo feature `bench`; ./dev builds it).
import init, { WasmEncoder } from '../wasm/legonet.js';
import { adapterInfo, cosine, maxAbsDiff } from './compare.js';

const f32 = async (url) => new Float32Array(await (await fetch(url)).arrayBuffer());

const top5 = (logits) => [...logits.keys()].sort((i, j) => logits[j] - logits[i] || i - j).slice(0, 5);

async function pngRgba(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

let ready;
window.legonetCheck = async function (backend, names, { benchReps = 0, weightsFile = 'efficientnet-lite0.safetensors' } = {}) {
  ready ??= init();
  await ready;
  const weights = new Uint8Array(await (await fetch(`/weights/${weightsFile}`)).arrayBuffer());
  const t0 = performance.now();
  const encoder = await WasmEncoder.create(weights, backend);
  const loadMs = performance.now() - t0;
  const results = [];
  for (const name of names) {
    const want = await f32(`/fixtures/${name}.embedding.f32`);
    const wantLogits = await f32(`/fixtures/${name}.logits.f32`);
    const fromInput = await encoder.encodeInput(await f32(`/fixtures/${name}.input.f32`));
    const img = await pngRgba(`/fixtures/${name}.png`);
    const fromPng = await encoder.encodeRgba(img.data, img.width, img.height);
    results.push({
      name,
      input: { cosine: cosine(fromInput.encodings, want), maxAbsDiff: maxAbsDiff(fromInput.encodings, want),
               top5: top5(fromInput.logits) },
      png: { cosine: cosine(fromPng.encodings, want), maxAbsDiff: maxAbsDiff(fromPng.encodings, want),
             top5: top5(fromPng.logits), labels: fromPng.top5[0].map((p) => p.label) },
      want: { top5: top5(wantLogits) },
    });
  }
  const bench = {};
  if (benchReps > 0) {
    const one = await f32(`/fixtures/${names[0]}.input.f32`);
    for (const batch of [1, 8]) {
      const input = new Float32Array(one.length * batch);
      for (let b = 0; b < batch; b++) input.set(one, b * one.length);
      await encoder.encodeInput(input); // warm-up (shader compilation on wgpu)
      const times = [];
      for (let r = 0; r < benchReps; r++) {
        const t = performance.now();
        await encoder.encodeInput(input);
        times.push((performance.now() - t) / batch);
      }
      times.sort((a, b) => a - b);
      bench[`batch${batch}`] = times[times.length >> 1];
    }
  }
  let badInput = null;
  try { await encoder.encodeRgba(new Uint8Array(4), 1, 1); } catch (e) { badInput = { name: e.name, code: e.code, message: e.message }; }
  const out = { backend: encoder.backend, device: encoder.device, encoderId: encoder.encoderId,
                loadMs, results, bench, badInput, adapter: await adapterInfo() };
  encoder.free();
  return out;
};
/** The error `WasmEncoder.create` rejects with on `backend` (null if it succeeds). */
window.createError = async function (backend) {
  ready ??= init();
  await ready;
  const weights = new Uint8Array(await (await fetch('/weights/efficientnet-lite0.safetensors')).arrayBuffer());
  try {
    (await WasmEncoder.create(weights, backend)).free();
    return null;
  } catch (e) {
    return { name: e.name, code: e.code, message: e.message };
  }
};
document.getElementById('status').textContent = 'ready';
