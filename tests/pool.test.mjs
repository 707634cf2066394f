// The encoder pool's scheduling (pkg/src/pool.js) in plain Node, with fake Workers that answer
// after random delays, die, or fail to start: results in input order whatever lane finishes
// first, the first failing image by index whatever the timing, abort that leaves nothing
// running, a dead Worker's jobs encoded elsewhere, a late Worker joining a running batch, and
// the default lane count. The real Workers and wasm are tested in tests/parallel.test.mjs.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { EncoderPool, defaultEncoderWorkers, WORKER_BYTES } from '../pkg/src/pool.js';
import { InvalidImageError } from '../pkg/src/errors.js';

/** Every fake Worker made, and the jobs running anywhere (to check nothing outlives a batch). */
let made = [];
let running = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jitter = () => sleep(Math.random() * 4);

/** A stand-in for an encoder-worker.js Worker. `behaviour`: { startMs, initError, dieOnJob: n,
 *  hangAtStart (never loads), hangOnJob: n (from its n-th job on, never answers and raises no
 *  error: a frozen or silently closed Worker), jobMs (each job takes that long) }. */
class FakeWorker {
  static behaviour = () => ({});
  constructor(url, options) {
    assert.match(String(url), /encoder-worker\.js$/);
    assert.equal(options.type, 'module');
    this.b = FakeWorker.behaviour(made.length);
    this.jobs = [];
    this.terminated = false;
    made.push(this);
  }
  postMessage(msg) {
    if (msg.init) {
      assert.ok(msg.init.weights instanceof Uint8Array);
      if (this.b.hangAtStart) return;
      setTimeout(() => {
        if (this.terminated) return;
        this.onmessage({ data: { loaded: true } });
        this.onmessage({ data: this.b.initError ? { initError: { code: 'INTERNAL', message: 'no' } } : { ready: { wasmBytes: 1000 } } });
      }, this.b.startMs ?? 0);
      return;
    }
    running++;
    this.jobs.push(msg.image.value);
    const ordinal = this.jobs.length;
    (async () => {
      await (this.b.jobMs ? sleep(this.b.jobMs) : jitter());
      running--;
      if (this.terminated) return;
      if (this.b.hangOnJob && ordinal >= this.b.hangOnJob) return;
      if (ordinal === this.b.dieOnJob) { this.onerror({ preventDefault() {} }); return; }
      this.onmessage({
        data: msg.image.bad
          ? { job: msg.job, error: { code: 'INVALID_IMAGE', message: `bad ${msg.image.value}` } }
          : { job: msg.job, encoding: Float32Array.of(msg.image.value), wasmBytes: 2000 },
      });
    })();
  }
  terminate() { this.terminated = true; }
}
globalThis.Worker = FakeWorker;

// The engine's own lane, in its two steps (a bad image fails to decode, as a real one does).
const localJobs = [];
const local = {
  async decode(image) {
    running++;
    localJobs.push(image.value);
    await jitter();
    running--;
    if (image.bad) throw new InvalidImageError(`bad ${image.value}`);
    return image;
  },
  async encode(image) {
    running++;
    await jitter();
    running--;
    return Float32Array.of(image.value);
  },
};

const images = (n, bad = []) => Array.from({ length: n }, (_, i) => ({ value: i, bad: bad.includes(i) }));
const pool = (helpers, timeouts) => new EncoderPool({ helpers, weights: new Uint8Array(8), local, timeouts });
const ready = async (p, lanes) => { while (p.lanes < lanes) await sleep(1); };
/** `promise`'s value, or 'pending' if it has none after `ms` (the timer cleared either way). */
const within = async (ms, promise) => {
  let timer;
  const late = new Promise((r) => { timer = setTimeout(() => r('pending'), ms); });
  try { return await Promise.race([promise, late]); } finally { clearTimeout(timer); }
};

beforeEach(() => { made = []; running = 0; localJobs.length = 0; FakeWorker.behaviour = () => ({}); });

test('encodings come back in input order, every lane used, one progress per image', async () => {
  const p = pool(3);
  await p.loaded;
  await ready(p, 4);
  for (let round = 0; round < 5; round++) {
    const progress = [];
    const out = await p.encodeAll(images(60), { progress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(out.map((e) => e[0]), [...Array(60).keys()]);
    assert.deepEqual(progress, Array.from({ length: 60 }, (_, i) => [i + 1, 60]));
  }
  for (const w of made) assert.ok(w.jobs.length > 0, 'every Worker encoded some');
  assert.ok(localJobs.length > 0, 'the engine encoded some itself');
  assert.deepEqual(p.workerBytes(), [2000, 2000, 2000]);
  assert.equal(running, 0);
  p.dispose();
  assert.ok(made.every((w) => w.terminated));
});

test('the first failing image by index fails the batch, whatever finishes first', async () => {
  const p = pool(3);
  await ready(p, 4);
  for (let round = 0; round < 20; round++) {
    for (const w of made) w.jobs.length = 0;
    localJobs.length = 0;
    const err = await p.encodeAll(images(40, [13, 21, 30])).then(() => null, (e) => e);
    assert.ok(err instanceof InvalidImageError, `round ${round}: ${err}`);
    assert.equal(err.message, 'example 13: bad 13');
    assert.equal(running, 0, 'nothing runs once it rejected');
    const tried = new Set([...localJobs, ...made.flatMap((w) => w.jobs)]);
    for (let i = 0; i < 13; i++) assert.ok(tried.has(i), `image ${i} (before the failure) was encoded`);
  }
  // Without Workers it is the sequential loop, one photo decoding ahead: it stops at the first
  // failure, having started at most the one after it.
  const alone = pool(0);
  localJobs.length = 0;
  await assert.rejects(alone.encodeAll(images(10, [3, 6])), { code: 'INVALID_IMAGE', message: 'example 3: bad 3' });
  assert.deepEqual(localJobs, [0, 1, 2, 3, 4]);
  assert.equal(running, 0);
});

test('abort starts nothing new, lets what runs finish, and rejects with ABORTED', async () => {
  const p = pool(2);
  await ready(p, 3);
  let done = 0;
  const err = await p.encodeAll(images(100), { progress: (d) => { done = d; }, aborted: () => done >= 5 })
    .then(() => null, (e) => e);
  assert.equal(err?.code, 'ABORTED');
  assert.equal(running, 0);
  assert.ok(done >= 5 && done < 100, `stopped early (${done} done)`);
  // The pool is usable again, and stale answers do not leak into the next batch.
  const out = await p.encodeAll(images(20));
  assert.deepEqual(out.map((e) => e[0]), [...Array(20).keys()]);
});

test('an abort after the last photo was taken still rejects, and wipes what was encoded', async () => {
  const p = pool(1);
  await ready(p, 2);
  // Two photos per lane are taken at once: a batch of 4 is all handed out before any answer.
  let abort = false;
  const got = [];
  const err = await p.encodeAll(images(4), { progress: (d) => { if (d === 1) abort = true; }, aborted: () => abort })
    .then((out) => { got.push(...out); return null; }, (e) => e);
  assert.equal(err?.code, 'ABORTED');
  assert.equal(running, 0);
  assert.deepEqual(got, []);
});

test('dispose during a batch fails it with DISPOSED instead of leaving it pending', async () => {
  FakeWorker.behaviour = () => ({});
  const p = pool(2);
  await ready(p, 3);
  const batch = p.encodeAll(images(40));
  await sleep(2);
  p.dispose();
  const err = await Promise.race([batch.then(() => 'resolved', (e) => e), sleep(2000).then(() => 'pending')]);
  assert.equal(err?.code, 'DISPOSED');
});

test('a Worker that dies mid-batch: its images are encoded elsewhere, in order', async () => {
  FakeWorker.behaviour = (i) => (i === 1 ? { dieOnJob: 3 } : {});
  const p = pool(3);
  await ready(p, 4);
  const out = await p.encodeAll(images(50));
  assert.deepEqual(out.map((e) => e[0]), [...Array(50).keys()]);
  assert.equal(p.lanes, 3);
  assert.ok(made[1].terminated);
});

test('a Worker that stops answering without an error: its images are encoded elsewhere once the engine\'s lane has nothing left', async () => {
  FakeWorker.behaviour = (i) => (i === 1 ? { hangOnJob: 3 } : {});
  const p = pool(3, { minMs: 100 });
  await ready(p, 4);
  const t0 = Date.now();
  const out = await within(5000, p.encodeAll(images(50)));
  assert.notEqual(out, 'pending', 'the batch waited for good on a Worker that will never answer');
  assert.deepEqual(out.map((e) => e[0]), [...Array(50).keys()]);
  assert.ok(made[1].terminated);
  assert.equal(p.lanes, 3);
  assert.ok(Date.now() - t0 >= 100, 'it waited minMs before giving up on the Worker');
  // The next batch does not wait for it again.
  const t1 = Date.now();
  assert.deepEqual((await p.encodeAll(images(20))).map((e) => e[0]), [...Array(20).keys()]);
  assert.ok(Date.now() - t1 < 100);
});

test('a Worker that is slow but answers is waited for, not dropped', async () => {
  // Each job takes 80 ms, over minMs: only the factor (10x the slowest answer, once one came
  // back: the batch is long enough for that) keeps it.
  FakeWorker.behaviour = () => ({ jobMs: 80 });
  const p = pool(2, { minMs: 50 });
  await ready(p, 3);
  const out = await p.encodeAll(images(200));
  assert.deepEqual(out.map((e) => e[0]), [...Array(200).keys()]);
  assert.ok(made.every((w) => !w.terminated && w.jobs.length > 0));
  assert.equal(p.lanes, 3);
});

test('time the page spends paused does not count as a Worker\'s silence', async () => {
  FakeWorker.behaviour = () => ({ jobMs: 400 });
  const p = pool(1, { minMs: 250, factor: 0 });
  await ready(p, 2);
  // The whole thread stops for 1.5 s (a suspended tab) before the watchdog is due at 250 ms:
  // when it fires, 1.3 s late, the Worker's answer is due at once after it.
  setTimeout(() => { const end = Date.now() + 1500; while (Date.now() < end); }, 100);
  const out = await p.encodeAll(images(10));
  assert.deepEqual(out.map((e) => e[0]), [...Array(10).keys()]);
  assert.ok(!made[0].terminated, 'the Worker was kept');
  assert.equal(p.lanes, 2);
});

test('a Worker that never finishes loading does not hold up init', async () => {
  FakeWorker.behaviour = (i) => (i === 0 ? { hangAtStart: true } : {});
  const p = pool(2, { loadMs: 100 });
  const loaded = await within(3000, p.loaded.then(() => 'loaded'));
  assert.equal(loaded, 'loaded');
  assert.ok(made[0].terminated);
  await ready(p, 2);
  const out = await p.encodeAll(images(10));
  assert.deepEqual(out.map((e) => e[0]), [...Array(10).keys()]);
});

test('a Worker that cannot start costs only speed', async () => {
  FakeWorker.behaviour = () => ({ initError: true });
  const p = pool(2);
  await p.loaded; // resolves for a Worker that failed too: init must not hang on it
  await sleep(1);
  const out = await p.encodeAll(images(10));
  assert.deepEqual(out.map((e) => e[0]), [...Array(10).keys()]);
  assert.equal(p.lanes, 1);
  assert.deepEqual(localJobs, [...Array(10).keys()]);
});

test('a Worker that starts late joins the batch that is running', async () => {
  FakeWorker.behaviour = () => ({ startMs: 20 });
  const p = pool(1);
  assert.equal(p.lanes, 1);
  const out = await p.encodeAll(images(200));
  assert.deepEqual(out.map((e) => e[0]), [...Array(200).keys()]);
  assert.ok(made[0].jobs.length > 0, 'the late Worker took part');
});

test('default lanes: one per core, at most 4, capped by device memory', () => {
  assert.equal(defaultEncoderWorkers({ hardwareConcurrency: 1 }), 1);
  assert.equal(defaultEncoderWorkers({ hardwareConcurrency: 2 }), 2);
  assert.equal(defaultEncoderWorkers({ hardwareConcurrency: 16 }), 4);
  assert.equal(defaultEncoderWorkers({}), 1);
  assert.equal(defaultEncoderWorkers(undefined), 1);
  assert.equal(defaultEncoderWorkers({ hardwareConcurrency: 8, deviceMemory: 8 }), 4);
  // An eighth of the memory for the extra Workers: 0.25 GB pays for none.
  const extraFor = (gb) => Math.floor((gb * 2 ** 30) / 8 / WORKER_BYTES);
  assert.equal(defaultEncoderWorkers({ hardwareConcurrency: 8, deviceMemory: 0.25 }), 1 + Math.min(3, extraFor(0.25)));
  assert.equal(defaultEncoderWorkers({ hardwareConcurrency: 8, deviceMemory: 1 }), 1 + Math.min(3, extraFor(1)));
  assert.ok(defaultEncoderWorkers({ hardwareConcurrency: 8, deviceMemory: 0.25 }) < 4);
});
