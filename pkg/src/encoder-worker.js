// One encoder Worker of the pool (pool.js): its own instance of the CPU wasm (never the WebGPU
// one: the pool runs only when the engine encodes on the CPU) with an engine on 'cpu' that is
// only ever asked to encode — no model of its own is used, no storage. It decodes a photo and
// returns its encoding; the engine Worker stays the one owner of the model. The very call the
// engine makes (WasmEngine.encodeRgba: same kernels, one thread, and whatever it wipes after
// use), so the encodings are bit for bit the engine's (tests/parallel.test.mjs).
//
// Protocol (engine → here → engine), on this Worker's own scope or, when the page started it for
// the engine Worker, on the port the page hands over first (`{ connect: MessagePort }`):
//   { init: { weights: Uint8Array, wasmUrl?, wasmModule? } } → { loaded: true } (every file fetched), then
//                                                 { ready: { wasmBytes } } | { initError: { code, message } }
//   { job, image: Blob | ImageBitmap }          → { job, encoding: Float32Array, wasmBytes } | { job, error: { code, message } }
// It deliberately imports neither pool.js nor worker.js: a bundler that follows `new Worker(new
// URL(...))` must not find this file spawning itself.

import init, { WasmEngine } from '../wasm/legonet.js';
import { errorToWire } from './errors.js';
import { decode, encodeWith } from './image.js';

let encoder = null;
let memory = null; // the instance's WebAssembly.Memory, for the pool's memory report

async function start({ weights, wasmUrl, wasmModule }) {
  // The engine's compiled CPU wasm when it has one (nothing fetched or compiled again), else the file.
  const exports = await init(wasmModule || wasmUrl ? { module_or_path: wasmModule ?? wasmUrl } : undefined);
  memory = exports.memory;
  channel.postMessage({ loaded: true }); // its last network request is behind it
  encoder = await WasmEngine.create(weights, 'cpu', null);
}

async function encode(decoded) {
  return encodeWith(encoder, await decoded);
}

// One encode at a time, in arrival order: the pool keeps a couple of jobs queued here so this
// thread never waits for the engine between two photos. A photo starts decoding as soon as it
// arrives, so the next one decodes while this thread encodes the current one.
let queue = Promise.resolve();
let channel = self; // where the engine's messages come from and replies go
const receive = (e) => {
  const msg = e.data;
  const decoded = msg.init ? null : decode(msg.image);
  decoded?.catch(() => {}); // handled when its turn comes; not an unhandled rejection before
  queue = queue.then(async () => {
    if (msg.init) {
      try {
        await start(msg.init);
        channel.postMessage({ ready: { wasmBytes: memory.buffer.byteLength } });
      } catch (err) {
        channel.postMessage({ initError: errorToWire(err) });
      }
      return;
    }
    try {
      const encoding = await encode(decoded);
      channel.postMessage({ job: msg.job, encoding, wasmBytes: memory.buffer.byteLength }, [encoding.buffer]);
    } catch (err) {
      channel.postMessage({ job: msg.job, error: errorToWire(err) });
    }
  });
};
// A message that cannot be deserialised here (its init or a job) would leave the pool waiting:
// this Worker gives up instead, and the pool hands its jobs to the other lanes.
const unreadable = () => channel.postMessage({ initError: { code: 'INTERNAL', message: 'a message from the engine could not be read in an encoder Worker' } });
self.onmessage = (e) => {
  if (e.data?.connect) { // started by the page for the engine Worker: the engine is at this port
    channel = e.data.connect;
    channel.onmessage = receive;
    channel.onmessageerror = unreadable;
    return;
  }
  receive(e);
};
self.onmessageerror = unreadable;
