// One encoder Worker of the pool (pool.js): its own wasm instance and a frozen CPU encoder, and
// nothing else — no model, no storage. It decodes a photo and returns its encoding; the engine
// Worker stays the one owner of the model. Same wasm, same `cpu` kernels, one thread: the
// encodings are bit for bit those the engine would compute itself (tests/pool.test.mjs).
//
// Protocol (engine → here → engine):
//   { init: { weights: Uint8Array, wasmUrl? } } → { ready: { wasmBytes } } | { initError: { code, message } }
//   { job, image: Blob | ImageBitmap }          → { job, encoding: Float32Array, wasmBytes } | { job, error: { code, message } }
// It deliberately imports neither pool.js nor worker.js: a bundler that follows `new Worker(new
// URL(...))` must not find this file spawning itself.

import init, { WasmEncoder } from '../wasm/legonet.js';
import { errorToWire } from './errors.js';
import { toPixels } from './image.js';

let encoder = null;
let memory = null; // the instance's WebAssembly.Memory, for the pool's memory report

async function start({ weights, wasmUrl }) {
  const exports = await init(wasmUrl ? { module_or_path: wasmUrl } : undefined);
  memory = exports.memory;
  encoder = await WasmEncoder.create(weights, 'cpu');
}

async function encode(image) {
  const img = await toPixels(image);
  const out = await encoder.encodeRgba(img.data, img.width, img.height);
  return out.encodings; // batch 1: exactly the 1280 floats WasmEngine.encodeRgba gives
}

// One job at a time, in arrival order: the pool keeps at most a couple queued here so this
// thread never waits for the engine between two photos.
let queue = Promise.resolve();
self.onmessage = (e) => {
  const msg = e.data;
  queue = queue.then(async () => {
    if (msg.init) {
      try {
        await start(msg.init);
        self.postMessage({ ready: { wasmBytes: memory.buffer.byteLength } });
      } catch (err) {
        self.postMessage({ initError: errorToWire(err) });
      }
      return;
    }
    try {
      const encoding = await encode(msg.image);
      self.postMessage({ job: msg.job, encoding, wasmBytes: memory.buffer.byteLength }, [encoding.buffer]);
    } catch (err) {
      self.postMessage({ job: msg.job, error: errorToWire(err) });
    }
  });
};
