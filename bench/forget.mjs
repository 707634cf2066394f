// Forget cost of the library's default model in headless Chromium's wasm (prints, asserts
// nothing): for each N, the first N training encodings of fashion-mnist-5k (real encodings,
// cached by `legonet bench --set fashion-mnist-5k`) in a seeded order are added to a fresh
// WasmEngine, trained, then single samples are forgotten one at a time; p50 / p95 of the wall
// time around each `forget` call (JS → wasm → report) and the (n, k) the model chose.
// Run: `node bench/forget.mjs [--sizes 500,2000,4000] [--forgets 60] [--member-cap C] [out.json]`
// after ./dev setup (`--member-cap`: the engine's `memberCap` instead of the default; 0 = none).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openBrowser } from '../tests/browser.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const sizes = opt('--sizes', '500,2000,4000').split(',').map(Number);
const forgets = Number(opt('--forgets', '60'));
const memberCap = opt('--member-cap', undefined);
const config = memberCap === undefined ? undefined : { memberCap: Number(memberCap) };
const outFile = args[0];
const cache = process.env.LEGONET_CACHE ?? path.join(os.homedir(), '.cache/legonet');
const encDir = path.join(cache, 'encodings');
const file = fs.readdirSync(encDir).find((f) => f.startsWith('fashion-mnist-5k-') && f.endsWith('.bin'));
if (!file) throw new Error(`no fashion-mnist-5k encodings in ${encDir}: run legonet bench --set fashion-mnist-5k once`);

// The cache layout of crate/src/bin/legonet/bench.rs: "LNENC1\0\0", classes, u64 rows, per row
// u32 class, u8 is_test, 1280 f32.
const buf = fs.readFileSync(path.join(encDir, file));
let p = 8;
const classes = [];
for (let i = 0, n = buf.readUInt32LE((p += 4) - 4); i < n; i++) {
  const len = buf.readUInt32LE(p); p += 4;
  classes.push(buf.toString('utf8', p, p + len)); p += len;
}
const rows = Number(buf.readBigUInt64LE(p)); p += 8;
const train = [];
for (let r = 0; r < rows; r++, p += 5 + 1280 * 4) {
  if (buf[p + 4] === 0) train.push({ label: classes[buf.readUInt32LE(p)], offset: p + 5 });
}
// A seeded shuffle (xorshift), so every run uses the same samples.
let s = 12345;
const rand = () => ((s ^= s << 13, s ^= s >>> 17, s ^= s << 5) >>> 0) / 2 ** 32;
for (let i = train.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [train[i], train[j]] = [train[j], train[i]]; }
const maxN = Math.max(...sizes);
const payload = Buffer.alloc(maxN * 1280 * 4);
train.slice(0, maxN).forEach((t, i) => buf.copy(payload, i * 5120, t.offset, t.offset + 5120));
const labels = train.slice(0, maxN).map((t) => t.label);

const b = await openBrowser();
const results = { date: new Date().toISOString(), encodings: file, forgets, config: config ?? 'default', sizes: [] };
try {
  await b.page.route('**/__bench/encodings.bin', (route) => route.fulfill({ body: payload, contentType: 'application/octet-stream' }));
  await b.page.goto(`${b.server.url}/bench/browser.html`);
  for (const n of sizes) {
    const r = await b.page.evaluate(async ({ n, labels, forgets, config }) => {
      const m = await import('/pkg/wasm/legonet.js');
      await m.default();
      const weights = new Uint8Array(await (await fetch('/weights/efficientnet-lite0.safetensors')).arrayBuffer());
      const all = new Float32Array(await (await fetch('/__bench/encodings.bin')).arrayBuffer());
      const eng = await m.WasmEngine.create(weights, 'cpu', config);
      const ids = labels.slice(0, n).map((_, i) => `s${i}`);
      const encodings = ids.map((_, i) => all.subarray(i * 1280, (i + 1) * 1280));
      eng.addMany(ids, encodings, labels.slice(0, n));
      let t = performance.now();
      while (eng.pendingAdapters() > 0) eng.trainSome(64);
      const trainMs = performance.now() - t;
      const state = eng.state();
      const times = [];
      let restructures = 0;
      // Every 7th id from the end: spread over classes and adapters.
      for (let i = 0; i < forgets; i++) {
        const id = ids[(n - 1 - i * 7 + n * 8) % n];
        t = performance.now();
        const rep = eng.forget([id]);
        times.push(performance.now() - t);
        if (rep.restructured) restructures++;
      }
      const verify = eng.verify();
      eng.free();
      times.sort((a, b) => a - b);
      const q = (f) => times[Math.min(times.length - 1, Math.round((times.length - 1) * f))];
      return { n, adapters: state.adapters, activated: state.activated, membersMax: Math.max(...state.memberCounts), trainMs, p50: q(0.5), p95: q(0.95), max: times.at(-1), restructures, verifyOk: verify.mismatches.length === 0 };
    }, { n, labels, forgets, config });
    console.log(`N = ${r.n}: ${r.adapters}×${r.activated} (largest adapter ${r.membersMax}), train ${r.trainMs.toFixed(0)} ms, forget p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms, max ${r.max.toFixed(2)} ms over ${forgets} (${r.restructures} restructures), verify ${r.verifyOk}`);
    results.sizes.push(r);
  }
} finally {
  await b.close();
}
if (outFile) fs.writeFileSync(outFile, JSON.stringify(results, null, 2));
