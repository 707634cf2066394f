// pkg/README.md says the quickstart works in a Vite app. tests/vite-app is a minimal Vite app
// ("legonet": "file:../../pkg", vite.config.js as the README recommends) whose main.js runs the
// quickstart on the demo's real sample photos: create (CPU, 4 adapters, 2 activated), add 12
// photos of 3 classes, train, predict 3 held-out photos, forget one, verify.
//   1. `vite build`, then the production build is served alone (dist/ at /, the weights at
//      /weights, the photos at /samples, anything else 404) and run in headless Debian Chromium;
//      the worker and the wasm must come from the build's hashed assets.
//   2. the same app under the Vite dev server (`vite`), with the same two mounts.
// No request may fail or leave the origin. Installs nothing but `npm ci` in tests/vite-app when
// its node_modules is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sirv from 'sirv';
import { chromium } from 'playwright-core';
import { CHROMIUM_FLAGS } from './browser.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const APP = path.join(ROOT, 'tests/vite-app');
const DIST = path.join(APP, 'dist');
const WEIGHTS = path.join(ROOT, 'weights');
const SAMPLES = path.join(ROOT, 'www/samples');
const MOUNTS = [['/weights', WEIGHTS], ['/samples', SAMPLES]];

let context;
let profile;

function run(cmd, args) {
  const t = performance.now();
  execFileSync(cmd, args, { cwd: APP, stdio: ['ignore', 'inherit', 'inherit'] });
  return performance.now() - t;
}

/** Connect-style middleware serving the mounts; `next()` for anything else. */
function mountsMiddleware() {
  const handlers = MOUNTS.map(([prefix, dir]) => [prefix, sirv(dir, { dev: true })]);
  return (req, res, next) => {
    for (const [prefix, handler] of handlers) {
      if (req.url.startsWith(prefix + '/')) {
        req.url = req.url.slice(prefix.length);
        return handler(req, res, () => { res.statusCode = 404; res.end('not found'); });
      }
    }
    next();
  };
}

/** dist/ at / plus the mounts; anything else is a 404 (no fallback to the repo). Logs every request. */
function serveBuild() {
  const mounts = mountsMiddleware();
  const app = sirv(DIST, { dev: true });
  const log = [];
  const srv = http.createServer((req, res) => {
    const url = req.url;
    res.on('finish', () => log.push({ url, status: res.statusCode }));
    const notFound = () => { res.statusCode = 404; res.end('not found'); };
    mounts(req, res, () => app(req, res, notFound));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}`, log,
    close: () => new Promise((r) => srv.close(r)),
  })));
}

/** Opens `url` (the app), waits for the quickstart to finish, checks its result; returns the request log. */
async function runApp(url, label) {
  const page = await context.newPage();
  const requests = [];
  const failed = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.url()}: HTTP ${r.status()}`); });
  page.on('console', (m) => { if (m.type() === 'error') console.error(`[${label} page]`, m.text()); });
  page.on('pageerror', (e) => console.error(`[${label} page error]`, e));
  try {
    const t = performance.now();
    await page.goto(url);
    await page.waitForFunction(() => document.body?.dataset.done === 'yes', null, { timeout: 120_000 });
    const ms = performance.now() - t;
    const error = await page.evaluate(() => window.legonetError ?? null);
    assert.equal(error, null, `the app failed: ${JSON.stringify(error)}`);
    const r = await page.evaluate(() => window.legonetResult);
    console.log(`[${label}] page flow ${ms.toFixed(0)} ms; train ${JSON.stringify(r.trained)}`);
    for (const p of r.predictions) console.log(`[${label}]   ${p.file}: ${JSON.stringify(p.got[0])} (want ${p.want})`);
    console.log(`[${label}] forget ${JSON.stringify(r.forget)}; verify ${JSON.stringify(r.verify)}`);

    assert.equal(r.backend.kind, 'cpu');
    assert.match(r.encoderId, /^[0-9a-f]{64}$/);
    assert.deepEqual(r.labels, ['Fish', 'Monuments', 'Tools']);
    assert.equal(r.added, 12);
    assert.ok(r.trained.adaptersTrained > 0 && r.trainProgress > 0);
    assert.equal(r.predictions.length, 3);
    for (const p of r.predictions) {
      assert.equal(p.got.length, 3);
      assert.ok(p.got.every((c) => r.labels.includes(c.label) && c.score >= 0 && c.score <= 1));
      assert.ok(Math.abs(p.got.reduce((s, c) => s + c.score, 0) - 1) < 1e-3, 'scores sum to 1');
      for (let i = 1; i < p.got.length; i++) assert.ok(p.got[i - 1].score >= p.got[i].score, 'highest score first');
    }
    const correct = r.predictions.filter((p) => p.got[0].label === p.want).length;
    assert.ok(correct >= 2, `held-out photos mostly right (${correct}/3)`);
    assert.equal(r.forget.forgotten, 1);
    assert.ok(r.forget.retrainedAdapters.length >= 1 && r.forget.retrainedAdapters.length <= 2);
    assert.ok(r.forget.ms >= 0);
    assert.equal(r.examplesAfterForget, 11);
    assert.ok(r.verify.ok, 'verify: every adapter replays bit for bit');
    assert.equal(r.verify.adaptersChecked, 4);

    assert.deepEqual(failed, [], 'no request failed');
    const origin = new URL(url).origin;
    assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !/^(data|blob):/.test(u)), [], 'no request left the origin');
  } finally {
    await page.close();
  }
}

before(async () => {
  for (const f of [path.join(WEIGHTS, 'efficientnet-lite0.safetensors'), path.join(ROOT, 'pkg/wasm/legonet_bg.wasm')]) {
    assert.ok(fs.existsSync(f), `${f} missing: run ./dev setup first`);
  }
  if (!fs.existsSync(path.join(APP, 'node_modules/.package-lock.json'))) {
    console.log(`npm ci in tests/vite-app: ${run('npm', ['ci', '--no-audit', '--no-fund']).toFixed(0)} ms`);
  }
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-vite-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // --headless is passed explicitly (tests/browser.mjs)
    args: CHROMIUM_FLAGS,
  });
});

after(async () => {
  await context?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('the README quickstart works in a production Vite build (vite build)', { timeout: 300_000 }, async () => {
  fs.rmSync(DIST, { recursive: true, force: true });
  const ms = run(process.execPath, [path.join(APP, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn']);
  console.log(`[build] vite build: ${ms.toFixed(0)} ms`);
  const assets = fs.readdirSync(path.join(DIST, 'assets'));
  const wasmAsset = assets.find((f) => /^legonet_bg-[\w-]+\.wasm$/.test(f));
  assert.ok(wasmAsset, `the wasm is a hashed asset of the build (${assets.join(', ')})`);

  const server = await serveBuild();
  try {
    await runApp(`${server.url}/`, 'build');
    // The engine ran from the build's own files: the bundled worker and the hashed wasm.
    const ok = (re) => server.log.some((e) => re.test(e.url) && e.status === 200);
    assert.ok(ok(new RegExp(`^/assets/${wasmAsset.replace(/[.-]/g, '\\$&')}$`)), 'the wasm was served from dist/assets');
    assert.ok(ok(/^\/assets\/worker-[\w-]+\.js$/), 'the worker was served from dist/assets');
    // With more than one core the engine starts encoder Workers (pkg/src/pool.js): Vite must
    // have followed the nested `new Worker(new URL(...))` into a chunk of its own.
    if (os.availableParallelism() > 1) assert.ok(ok(/^\/assets\/encoder-worker-[\w-]+\.js$/), 'the encoder Worker was served from dist/assets');
    assert.deepEqual(server.log.filter((e) => e.status >= 400), [], 'the server answered every request');
  } finally {
    await server.close();
  }
});

test('the README quickstart works under the Vite dev server (vite)', { timeout: 300_000 }, async () => {
  const vite = await import(pathToFileURL(path.join(APP, 'node_modules/vite/dist/node/index.js')).href);
  const server = await vite.createServer({
    root: APP, logLevel: 'warn', clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    plugins: [{ name: 'legonet-test-mounts', configureServer(s) { s.middlewares.use(mountsMiddleware()); } }],
  });
  try {
    await server.listen();
    await runApp(server.resolvedUrls.local[0], 'dev');
  } finally {
    await server.close();
  }
});
