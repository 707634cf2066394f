// The peer benchmark (docs/peers.md): legonet vs onnxruntime-web / TF.js in ONE headless Chromium
// session, and legonet's native CLI vs native onnxruntime. Writes bench/peers/results/peers.json,
// bench/peers/results/table.md and docs/peers.svg.
//
//   cd bench/peers && npm ci && cd ../..
//   ~/.cache/legonet/venv-peers/bin/python bench/peers/prepare.py   # ONNX export + cached encodings
//   node bench/peers/run.mjs [--quick] [--suites legonet,ort-wasm,ort-webgpu,tfjs,legonet-train,photos] [--no-native]
//                            [--backends cpu,flex,ndarray,wgpu]   (legonet's encoder backends)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { chromium } from 'playwright-core';
import { renderSvg, renderTable, buildRows } from './report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const SHARED = process.env.LEGONET_SHARED ?? path.resolve(ROOT, '../shared');
const CACHE = process.env.LEGONET_CACHE ?? path.join(os.homedir(), '.cache/legonet');
const PY = process.env.LEGONET_PEERS_PY ?? path.join(CACHE, 'venv-peers/bin/python');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const suitesArg = args[args.indexOf('--suites') + 1];
const suites = args.includes('--suites') ? suitesArg.split(',') : ['legonet', 'ort-wasm', 'ort-webgpu', 'tfjs', 'legonet-train', 'photos'];
const DATASETS = process.env.LEGONET_DATASETS ?? path.join(CACHE, 'datasets');
// The photos suite: batch encoding throughput of this many gcompris-photos, in interleaved rounds.
const PHOTOS = Number(process.env.LEGONET_PEERS_PHOTOS ?? 200);
const PHOTO_ROUNDS = quick ? 1 : 3;
const native = !args.includes('--no-native');
const backends = args.includes('--backends') ? args[args.indexOf('--backends') + 1].split(',') : undefined;
const reps = quick ? { reps1: 3, reps8: 2 } : { reps1: 10, reps8: 5 };

// legonet's wasm: the test/bench wasm in tests/wasm (built by ./dev: the WebGPU wasm plus
// `WasmEncoder`, cargo feature `bench`) or, with --bind, wasm-bindgen run here on the last built
// $LEGONET_CACHE/target/wasm32-unknown-unknown/wasm/legonet.wasm into bench/peers/cache/wasm (no cargo build).
let legonetJs = '/tests/wasm/legonet.js';
if (args.includes('--bind') || !fs.existsSync(path.join(ROOT, 'tests/wasm/legonet.js'))) {
  const wasm = path.join(process.env.CARGO_TARGET_DIR ?? path.join(CACHE, 'target'), 'wasm32-unknown-unknown/wasm/legonet.wasm');
  if (fs.existsSync(wasm)) {
    execFileSync(path.join(CACHE, 'tools/bin/wasm-bindgen'), ['--target', 'web', '--out-dir', path.join(HERE, 'cache/wasm'), wasm]);
    legonetJs = '/bench/peers/cache/wasm/legonet.js';
  }
}
const legonetBuilt = fs.existsSync(path.join(ROOT, legonetJs));

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

for (const f of ['cache/efficientnet-lite0.onnx', 'cache/sets.json', 'cache/fixtures.input.f32']) {
  if (!fs.existsSync(path.join(HERE, f))) {
    console.error(`missing bench/peers/${f}: run ${PY} bench/peers/prepare.py first`);
    process.exit(1);
  }
}

/** Serves the repo root, the fixtures, the weights and the datasets; `isolated`: every response
 *  with COOP/COEP, so the page is cross-origin isolated (SharedArrayBuffer, wasm threads). */
function serve({ isolated = false } = {}) {
  const files = sirv(ROOT, { dev: true, dotfiles: false });
  const fixtures = sirv(path.join(SHARED, 'encoder-reference/fixtures'), { dev: true });
  const datasets = sirv(DATASETS, { dev: true });
  // /weights/: the repo's copy if set-up made one, else the converted weights in the cache
  const weightsDir = fs.existsSync(path.join(ROOT, 'weights/efficientnet-lite0.safetensors')) ? path.join(ROOT, 'weights') : path.join(CACHE, 'weights');
  const weights = sirv(weightsDir, { dev: true });
  const server = http.createServer((req, res) => {
    const notFound = () => { res.statusCode = 404; res.end('not found'); };
    if (isolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (req.url.startsWith('/datasets/')) { req.url = req.url.slice('/datasets'.length); return datasets(req, res, notFound); }
    if (req.url.startsWith('/fixtures/')) { req.url = req.url.slice('/fixtures'.length); return fixtures(req, res, notFound); }
    if (req.url.startsWith('/weights/')) { req.url = req.url.slice('/weights'.length); return weights(req, res, notFound); }
    if (req.url === '/favicon.ico') { res.statusCode = 204; return res.end(); }
    files(req, res, notFound);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

/** Other CPU-heavy processes (not this benchmark's): what else ran while we measured. */
const otherLoad = () => {
  const mine = new Set([String(process.pid)]);
  const ps = execFileSync('ps', ['-eo', 'pid,ppid,pcpu,comm,args', '--sort=-pcpu'], { encoding: 'utf8' }).trim().split('\n').slice(1)
    .map((l) => l.trim().split(/\s+/)).map(([pid, ppid, pcpu, comm, ...a]) => ({ pid, ppid, pcpu: +pcpu, comm, args: a.join(' ').slice(0, 140) }));
  for (let changed = true; changed;) { changed = false; for (const p of ps) if (!mine.has(p.pid) && mine.has(p.ppid)) { mine.add(p.pid); changed = true; } }
  const others = ps.filter((p) => !mine.has(p.pid) && p.pcpu >= 10 && p.comm !== 'ps');
  return { loadavg: os.loadavg(), compileRunning: ps.some((p) => !mine.has(p.pid) && /^(rustc|cargo)$/.test(p.comm)),
           busy: others.map((p) => `${p.comm} ${p.pcpu}% ${p.args}`) };
};

// --wait-quiet SECONDS: wait (at most that long) until no other process uses >= 10% CPU and no
// compile runs, so that the figures are not shared with someone else's build or benchmark.
if (args.includes('--wait-quiet')) {
  const limit = Date.now() + 1000 * Number(args[args.indexOf('--wait-quiet') + 1] ?? 600);
  for (;;) {
    const l = otherLoad();
    if (!l.compileRunning && l.busy.length === 0) break;
    if (Date.now() > limit) { console.error('still busy, measuring anyway:', l.busy.join('; ')); break; }
    console.error('waiting for a quiet machine:', l.busy.join('; ').slice(0, 200));
    await new Promise((r) => setTimeout(r, 15000));
  }
}

/**
 * Batch encoding throughput from photo files (decode included), in interleaved rounds so that the
 * VM's drift hits every runner alike: legonet's pool at the package's default lanes (page not
 * cross-origin isolated: the package needs no headers), onnxruntime-web on the same page (1
 * thread: without isolation it has no threads), and onnxruntime-web with numThreads = cores on a
 * page served with COOP/COEP. Each figure is the median of the rounds.
 */
async function photosSuite(page) {
  const photos = photoList();
  const cores = os.cpus().length;
  const variants = [
    { key: 'legonet-pool', suite: 'pool-photos', base: url, opts: {} },
    { key: 'ort-1thread', suite: 'ort-photos', base: url, opts: { threads: 1 } },
    { key: 'ort-threads-isolated', suite: 'ort-photos', base: isolatedServer.url, opts: { threads: cores } },
  ];
  const runs = Object.fromEntries(variants.map((v) => [v.key, []]));
  for (let round = 0; round < PHOTO_ROUNDS; round++) {
    for (const v of variants) {
      await page.goto(`${v.base}/bench/peers/bench.html?legonet=${encodeURIComponent(legonetJs)}`);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 60_000 });
      const t = Date.now();
      try {
        runs[v.key].push(await page.evaluate(([s, o]) => window.benchSuite(s, o), [v.suite, { ...v.opts, photos }]));
      } catch (e) {
        runs[v.key].push({ error: String(e.message ?? e).slice(0, 500) });
      }
      const r = runs[v.key].at(-1);
      console.error(`photos round ${round + 1}: ${v.key} ${r.error ?? `${r.photosPerSecond.toFixed(1)} photos/s`} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    }
  }
  const out = { photos: photos.length, rounds: PHOTO_ROUNDS, runners: {} };
  for (const v of variants) {
    const ok = runs[v.key].filter((r) => !r.error);
    if (!ok.length) { out.runners[v.key] = { error: runs[v.key][0]?.error ?? 'no run' }; continue; }
    const pps = ok.map((r) => r.photosPerSecond).sort((a, b) => a - b);
    const mid = pps.length % 2 ? pps[pps.length >> 1] : (pps[pps.length / 2 - 1] + pps[pps.length / 2]) / 2;
    out.runners[v.key] = { ...ok.at(-1), photosPerSecond: mid, msPerPhoto: 1000 / mid, runs: ok.map((r) => r.photosPerSecond) };
  }
  return out;
}

const result = { startedAt: new Date().toISOString(), quick, legonetJs,
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version },
  loadBefore: otherLoad(), browser: {}, native: null };

const { server, url } = await serve();
const isolatedServer = await serve({ isolated: true });

/** The first PHOTOS of gcompris-photos by file name (every class, 320 px to full HD WebP). */
function photoList() {
  const manifest = JSON.parse(fs.readFileSync(path.join(DATASETS, 'gcompris-photos/manifest.json'), 'utf8'));
  return manifest.entries.map((e) => ({ url: `/datasets/gcompris-photos/${e.file}`, label: e.class }))
    .sort((x, y) => (x.url < y.url ? -1 : 1)).slice(0, PHOTOS);
}
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-peers-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: false, args: FLAGS });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('[page error]', e));
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text().slice(0, 300)); });
  result.machine.browser = context.browser()?.version() ?? null;
  for (const suite of suites) {
    if (suite === 'photos') {
      result.browser.photos = await photosSuite(page);
      continue;
    }
    if (suite === 'legonet' || suite === 'legonet-train') {
      if (!legonetBuilt) { result.browser[suite] = { error: 'legonet wasm not built' }; continue; }
    }
    await page.goto(`${url}/bench/peers/bench.html?legonet=${encodeURIComponent(legonetJs)}`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 60_000 });
    const t = Date.now();
    console.error(`suite ${suite} ...`);
    const opts = suite === 'tfjs' || suite === 'legonet-train' ? { reps: quick ? 1 : 5 }
      : suite === 'ort-webgpu' ? { reps1: quick ? 2 : 3, reps8: quick ? 1 : 2 } // SwiftShader: seconds per image
      : suite === 'legonet' ? { ...reps, repsGpu1: quick ? 2 : 3, repsGpu8: quick ? 1 : 2, backends } : reps;
    try {
      result.browser[suite] = await page.evaluate(([s, o]) => window.benchSuite(s, o), [suite, opts]);
    } catch (e) {
      result.browser[suite] = { error: String(e.message ?? e).slice(0, 500) };
    }
    console.error(`suite ${suite}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  if (args.includes('--profile') && legonetBuilt) {
    // CPU profile (V8 sampling profiler) of legonet's wasm encoder: self time per wasm function
    result.profile = {};
    for (const backend of ['cpu', 'flex']) {
      await page.goto(`${url}/bench/peers/bench.html?legonet=${encodeURIComponent(legonetJs)}`);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
      await page.evaluate((b) => window.prepareProfile(b, 1), backend);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
      await page.evaluate(() => window.profileRun(5));
      const { profile } = await cdp.send('Profiler.stop');
      const self = new Map();
      let total = 0;
      const dt = new Map();
      for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
      for (const n of profile.nodes) {
        const us = dt.get(n.id) ?? 0;
        total += us;
        const name = n.callFrame.functionName || `(${n.callFrame.url.split('/').pop() || 'anonymous'})`;
        self.set(name, (self.get(name) ?? 0) + us);
      }
      result.profile[backend] = { totalMs: total / 1000, runs: 5,
        top: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([name, us]) => ({ name: name.slice(0, 200), ms: us / 1000, pct: (100 * us) / total })) };
      await cdp.detach();
      console.error(`profiled legonet '${backend}'`);
    }
  }
} finally {
  await context.close();
  server.close();
  isolatedServer.server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

if (native) {
  console.error('native ...');
  const nativePy = (args) => JSON.parse(execFileSync(PY, [path.join(HERE, 'native.py'), ...args],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  // legonet's default encoder in 9 interleaved rounds (on a VM that drifts by ±10 % over seconds,
  // 3 left the batch-1 ratios swinging by ±7 % from run to run); burn's flex/ndarray paths, extra
  // rows 5–20× slower, in one round against the same onnxruntime figures.
  result.native = nativePy(quick ? ['--reps', '3', '--rounds', '1', '--backends', 'cpu'] : ['--reps', '20', '--rounds', '9', '--backends', 'cpu']);
  const burn = nativePy(['--reps', quick ? '2' : '5', '--rounds', '1', '--backends', 'flex,ndarray']);
  result.native.legonet.push(...burn.legonet);
}
result.loadAfter = otherLoad();
result.finishedAt = new Date().toISOString();
result.rows = buildRows(result);

const outDir = path.join(HERE, 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'peers.json'), JSON.stringify(result, null, 1));
const table = renderTable(result);
fs.writeFileSync(path.join(outDir, 'table.md'), table);
fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'docs/peers.svg'), renderSvg(result));
console.log(table);
console.error(`wrote bench/peers/results/peers.json, bench/peers/results/table.md, docs/peers.svg`);
