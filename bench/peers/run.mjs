// The peer benchmark (docs/peers.md): legonet vs onnxruntime-web / TF.js in ONE headless Chromium
// session, and legonet's native CLI vs native onnxruntime. Writes bench/peers/results/peers.json,
// bench/peers/results/table.md and docs/peers.svg.
//
//   cd bench/peers && npm ci && cd ../..
//   ~/.cache/legonet/venv-peers/bin/python bench/peers/prepare.py   # ONNX export + cached encodings
//   node bench/peers/run.mjs [--quick] [--suites legonet,ort-wasm,ort-webgpu,tfjs,legonet-train] [--no-native]
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
const suites = args.includes('--suites') ? suitesArg.split(',') : ['legonet', 'ort-wasm', 'ort-webgpu', 'tfjs', 'legonet-train'];
const native = !args.includes('--no-native');
const reps = quick ? { reps1: 3, reps8: 2 } : { reps1: 10, reps8: 5 };

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

for (const f of ['cache/efficientnet-lite0.onnx', 'cache/sets.json', 'cache/fixtures.input.f32']) {
  if (!fs.existsSync(path.join(HERE, f))) {
    console.error(`missing bench/peers/${f}: run ${PY} bench/peers/prepare.py first`);
    process.exit(1);
  }
}

function serve() {
  const files = sirv(ROOT, { dev: true, dotfiles: false });
  const fixtures = sirv(path.join(SHARED, 'encoder-reference/fixtures'), { dev: true });
  const server = http.createServer((req, res) => {
    const notFound = () => { res.statusCode = 404; res.end('not found'); };
    if (req.url.startsWith('/fixtures/')) { req.url = req.url.slice('/fixtures'.length); return fixtures(req, res, notFound); }
    files(req, res, notFound);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

const otherLoad = () => {
  const ps = execFileSync('ps', ['-eo', 'pid,pcpu,comm,args', '--sort=-pcpu'], { encoding: 'utf8' }).split('\n').slice(1, 8);
  return { loadavg: os.loadavg(), rustcRunning: ps.filter((l) => /rustc|cargo/.test(l)).length, top: ps.map((l) => l.slice(0, 120)) };
};

const result = { startedAt: new Date().toISOString(), quick,
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version },
  loadBefore: otherLoad(), browser: {}, native: null };

const { server, url } = await serve();
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-peers-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: false, args: FLAGS });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('[page error]', e));
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text().slice(0, 300)); });
  result.machine.browser = context.browser()?.version() ?? null;
  for (const suite of suites) {
    if (suite === 'legonet' || suite === 'legonet-train') {
      if (!fs.existsSync(path.join(ROOT, 'pkg/wasm/legonet.js'))) { result.browser[suite] = { error: 'pkg/wasm/legonet.js not built' }; continue; }
    }
    await page.goto(`${url}/bench/peers/bench.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, { timeout: 60_000 });
    const t = Date.now();
    console.error(`suite ${suite} ...`);
    const opts = suite === 'tfjs' ? { reps: quick ? 2 : 5 } : reps;
    try {
      result.browser[suite] = await page.evaluate(([s, o]) => window.benchSuite(s, o), [suite, opts]);
    } catch (e) {
      result.browser[suite] = { error: String(e.message ?? e).slice(0, 500) };
    }
    console.error(`suite ${suite}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

if (native) {
  console.error('native ...');
  const out = execFileSync(PY, [path.join(HERE, 'native.py'), '--reps', quick ? '3' : '10'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  result.native = JSON.parse(out);
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
