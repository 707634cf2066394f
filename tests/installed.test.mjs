// The packages as a user gets them (issue 15): `npm pack` legonet (pkg/) and
// @legonet/efficientnet-lite0 (packages/efficientnet-lite0, whose prepack checks the weights),
// install the two tarballs into fresh apps under os.tmpdir() — outside the repository, so nothing
// resolves to it — and run pkg/README.md's quickstart there with NO encoderUrl (tests/installed-app:
// real gcompris photos of 3 classes, create on the CPU, add, train, every held-out photo right,
// forget, verify) in headless Debian Chromium:
//   1. a Vite app, production build (`vite build`) served alone: the worker, the wasm and the
//      weights must come from the build's hashed assets;
//   2. the same Vite app under the dev server (`vite`);
//   3. a plain HTML page with an import map, its folder (node_modules included) served by a plain
//      static server — in Chromium, then in Firefox ESR (puppeteer-core, as tests/browser.mjs);
//   4. a webpack 5 production build with no config, the engine in its Worker and on the page's
//      thread (`worker: false` starts the encoder Workers itself: webpack must have bundled them);
//   5. an esbuild build set up as pkg/README.md says (esbuild follows no `new URL(...)`).
// No request may fail or leave the origin; every request is logged. npm fetches only vite,
// webpack and esbuild (and their dependencies) from the registry, from its cache when it has them.
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
import puppeteer from 'puppeteer-core';
import { CHROMIUM_FLAGS, DATASETS, FIREFOX, datasetPhotos } from './browser.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const TEMPLATE = path.join(ROOT, 'tests/installed-app');
/** The Vite the apps install, pinned (the one the former tests/vite-app locked; Vite 8 keeps Worker URLs in dev). */
const VITE = 'vite@8.3.8';
/** The webpack an app of that kind (Next.js, CRA-style) builds with, and its CLI, pinned. */
const WEBPACK = ['webpack@5.113.0', 'webpack-cli@7.3.1'];
const ESBUILD = 'esbuild@0.28.2';
const CLASSES = ['animals', 'monuments', 'tools'];
const PHOTOS = datasetPhotos(CLASSES, { train: 6, heldOut: 2 });

let tmp;
let tarballs;
let context;
let profile;

function run(cmd, args, cwd) {
  const t = performance.now();
  const out = execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return { out, ms: performance.now() - t };
}

/** `npm pack` of `dir` into tmp; returns its JSON report (filename, size, files). */
function pack(dir) {
  const { out, ms } = run('npm', ['pack', '--json', '--pack-destination', tmp], dir);
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  console.log(`[pack] ${info.filename}: ${info.size} bytes packed, ${info.unpackedSize} unpacked, ${info.files.length} files (${ms.toFixed(0)} ms)`);
  return { ...info, file: path.join(tmp, info.filename), paths: info.files.map((f) => f.path).sort() };
}

/** A fresh app folder from the template, with the photos copied in and the tarballs installed. */
function makeApp(name, { html, extra = [], tools = [] }) {
  const app = path.join(tmp, name);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `legonet-installed-${name}`, private: true, type: 'module' }, null, 2));
  fs.copyFileSync(path.join(TEMPLATE, 'main.js'), path.join(app, 'main.js'));
  fs.copyFileSync(path.join(TEMPLATE, html), path.join(app, 'index.html'));
  for (const f of extra) fs.copyFileSync(path.join(TEMPLATE, f), path.join(app, f));
  // Vite copies public/ into the build and serves it in dev; the plain page serves its folder.
  const photosDir = path.join(app, extra.includes('vite.config.js') ? 'public/photos' : 'photos');
  fs.mkdirSync(photosDir, { recursive: true });
  const list = [];
  for (const [heldOut, set] of [[false, PHOTOS.train], [true, PHOTOS.heldOut]]) {
    for (const p of set) {
      const file = `${p.label}-${path.basename(p.url)}`; // unique across classes
      fs.copyFileSync(path.join(DATASETS, p.url.replace(/^\/datasets\//, '')), path.join(photosDir, file));
      list.push({ file, label: p.label, heldOut });
    }
  }
  fs.writeFileSync(path.join(photosDir, 'photos.json'), JSON.stringify(list));
  const deps = [tarballs.legonet.file, tarballs.weights.file, ...(extra.includes('vite.config.js') ? [VITE] : []), ...tools];
  const { ms } = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error', ...deps], app);
  console.log(`[${name}] npm install ${deps.map((d) => path.basename(d)).join(' ')}: ${ms.toFixed(0)} ms`);
  // Installed copies, not links into the repository.
  for (const p of ['node_modules/legonet', 'node_modules/@legonet/efficientnet-lite0']) {
    assert.ok(!fs.lstatSync(path.join(app, p)).isSymbolicLink(), `${p} is a copy`);
  }
  return app;
}

/** Serves `dir` alone at /; anything missing is a 404. Logs every request. */
function serveDir(dir) {
  const files = sirv(dir, { dev: true });
  const log = [];
  const srv = http.createServer((req, res) => {
    const url = req.url;
    res.on('finish', () => log.push({ url, status: res.statusCode }));
    files(req, res, () => { res.statusCode = 404; res.end('not found'); });
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}`, log,
    close: () => new Promise((r) => srv.close(r)),
  })));
}

/** Whether the server answered `url` (a path, or a RegExp of paths) with 200. */
const served = (log, url) => log.some((e) => (url instanceof RegExp ? url.test(e.url) : e.url === url) && e.status === 200);

/** Opens `url` (the app) in a new page of `browser` (Chromium's context by default, or
 *  Firefox's puppeteer Browser: the calls below are common to both), waits for the quickstart,
 *  checks its result and its requests. */
async function runApp(url, label, browser = context) {
  const page = await browser.newPage();
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
    for (const until = Date.now() + 240_000; !(await page.evaluate(() => document.body?.dataset.done === 'yes'));) {
      assert.ok(Date.now() < until, 'the quickstart finished within 4 minutes');
      await new Promise((r) => setTimeout(r, 250));
    }
    const ms = performance.now() - t;
    const origin = new URL(url).origin;
    console.log(`[${label}] ${requests.length} requests: ${[...new Set(requests.map((u) => u.replace(origin, '')))].join(' ')}`);
    const error = await page.evaluate(() => window.legonetError ?? null);
    assert.equal(error, null, `the app failed: ${JSON.stringify(error)}`);
    const r = await page.evaluate(() => window.legonetResult);
    console.log(`[${label}] quickstart ${ms.toFixed(0)} ms; train ${JSON.stringify(r.trained)}`);
    for (const p of r.predictions) console.log(`[${label}]   ${p.file}: ${JSON.stringify(p.got[0])} (want ${p.want})`);
    console.log(`[${label}] forget ${JSON.stringify(r.forget)}; verify ${JSON.stringify(r.verify)}`);

    assert.equal(r.backend.kind, 'cpu');
    assert.equal(r.encoderId, (await import(pathToFileURL(path.join(ROOT, 'packages/efficientnet-lite0/index.js')).href)).sha256,
      'the encoder is the weights package\'s file');
    assert.deepEqual(r.labels, CLASSES);
    assert.equal(r.added, PHOTOS.train.length);
    assert.ok(r.trained.adaptersTrained > 0 && r.trainProgress > 0);
    assert.equal(r.predictions.length, PHOTOS.heldOut.length);
    for (const p of r.predictions) {
      assert.equal(p.got.length, CLASSES.length);
      assert.ok(Math.abs(p.got.reduce((s, c) => s + c.score, 0) - 1) < 1e-3, 'scores sum to 1');
      assert.equal(p.got[0].label, p.want, `held-out ${p.file}: ${JSON.stringify(p.got[0])}`);
    }
    assert.equal(r.forget.forgotten, 1);
    assert.ok(r.forget.retrainedAdapters.length >= 1);
    assert.equal(r.examplesAfterForget, PHOTOS.train.length - 1);
    assert.ok(r.verify.ok, 'verify: every adapter replays bit for bit');

    // On the CPU the WebGPU wasm (its glue or its binary) is never even requested.
    assert.deepEqual(requests.filter((u) => /legonet_webgpu/.test(u)), [], 'nothing of the WebGPU wasm was requested');
    assert.deepEqual(failed, [], 'no request failed');
    assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !/^(data|blob):/.test(u)), [], 'no request left the origin');
  } finally {
    await page.close();
  }
}

before(async () => {
  for (const f of ['pkg/wasm/legonet_bg.wasm', 'packages/efficientnet-lite0/efficientnet-lite0-f16.safetensors']) {
    assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} missing: run ./dev setup first`);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-installed-'));
  tarballs = { legonet: pack(path.join(ROOT, 'pkg')), weights: pack(path.join(ROOT, 'packages/efficientnet-lite0')) };
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-installed-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // --headless is passed explicitly (tests/browser.mjs)
    args: CHROMIUM_FLAGS,
  });
});

after(async () => {
  await context?.close();
  for (const d of [profile, tmp]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

test('npm pack ships what an app needs and nothing of the repository', () => {
  const legonet = tarballs.legonet.paths;
  for (const f of ['package.json', 'README.md', 'index.d.ts', 'src/index.js', 'src/worker.js', 'src/pool.js',
    'src/encoder-worker.js', 'src/storage.js', 'src/rpc.js', 'src/image.js', 'src/errors.js', 'wasm/legonet.js', 'wasm/legonet_bg.wasm',
    'wasm/legonet_webgpu.js', 'wasm/legonet_webgpu_bg.wasm']) {
    assert.ok(legonet.includes(f), `legonet's tarball has ${f} (${legonet.join(', ')})`);
  }
  assert.deepEqual(legonet.filter((f) => !/^(package\.json|README\.md|index\.d\.ts|src\/[\w-]+\.js|wasm\/[\w-]+\.(js|wasm|d\.ts))$/.test(f)), [], 'nothing else');
  // The test/bench-only class (cargo feature `bench`, tests/wasm/) is not in the package's wasm.
  for (const glue of ['wasm/legonet.d.ts', 'wasm/legonet_webgpu.d.ts']) {
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, 'pkg', glue), 'utf8'), /WasmEncoder/, `${glue} declares no WasmEncoder`);
  }
  assert.deepEqual(tarballs.weights.paths,
    ['LICENSE', 'NOTICE', 'README.md', 'efficientnet-lite0-f16.safetensors', 'index.d.ts', 'index.js', 'package.json']);
});

test('installed: the quickstart in a Vite production build, served alone', { timeout: 600_000 }, async () => {
  const app = makeApp('vite', { html: 'index.html', extra: ['vite.config.js'] });
  const { ms } = run(process.execPath, [path.join(app, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);
  const assets = fs.readdirSync(path.join(app, 'dist/assets'));
  console.log(`[vite build] ${ms.toFixed(0)} ms: ${assets.map((f) => `${f} ${fs.statSync(path.join(app, 'dist/assets', f)).size}`).join(', ')}`);
  const server = await serveDir(path.join(app, 'dist'));
  try {
    await runApp(`${server.url}/`, 'vite build');
    // The engine ran from the build's own files: the bundled Workers, the hashed wasm and weights.
    assert.ok(served(server.log, /^\/assets\/legonet_bg-[\w-]+\.wasm$/), 'the wasm came from dist/assets');
    // The build has the WebGPU wasm too (a dynamic import Vite followed), but the CPU run never asked for it.
    assert.ok(assets.some((f) => /^legonet_webgpu_bg-[\w-]+\.wasm$/.test(f)), 'vite build emitted the WebGPU wasm');
    assert.deepEqual(server.log.filter((e) => /legonet_webgpu/.test(e.url)), [], 'the WebGPU wasm was not fetched');
    assert.ok(served(server.log, /^\/assets\/efficientnet-lite0-f16-[\w-]+\.safetensors$/), 'the weights came from dist/assets');
    assert.ok(served(server.log, /^\/assets\/worker-[\w-]+\.js$/), 'the engine Worker came from dist/assets');
    // With more than one core the engine starts encoder Workers (pkg/src/pool.js): Vite must
    // have followed the nested `new Worker(new URL(...))` into a chunk of its own.
    if (os.availableParallelism() > 1) assert.ok(served(server.log, /^\/assets\/encoder-worker-[\w-]+\.js$/), 'the encoder Worker came from dist/assets');
    assert.deepEqual(server.log.filter((e) => e.status >= 400), [], 'the server answered every request');
  } finally {
    await server.close();
  }
});

test('installed: the quickstart under the Vite dev server', { timeout: 600_000 }, async () => {
  const app = path.join(tmp, 'vite'); // the app of the previous test
  assert.ok(fs.existsSync(path.join(app, 'node_modules/vite')), 'the Vite app was installed by the build test');
  const vite = await import(pathToFileURL(path.join(app, 'node_modules/vite/dist/node/index.js')).href);
  const server = await vite.createServer({
    root: app, logLevel: 'warn', clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
  });
  try {
    await server.listen();
    await runApp(server.resolvedUrls.local[0], 'vite dev');
  } finally {
    await server.close();
  }
});

test('installed: the quickstart in a plain page with an import map, on a static server', { timeout: 600_000 }, async () => {
  const app = makeApp('importmap', { html: 'importmap.html' });
  const server = await serveDir(app);
  try {
    await runApp(`${server.url}/`, 'import map');
    checkImportMapLog(server.log);
  } finally {
    await server.close();
  }
});

/** The import-map page got the engine's files from the installed packages, and nothing failed. */
function checkImportMapLog(log) {
  assert.ok(served(log, '/node_modules/legonet/wasm/legonet_bg.wasm'), 'the wasm came from the installed package');
  assert.deepEqual(log.filter((e) => /legonet_webgpu/.test(e.url)), [], 'the WebGPU wasm was not fetched');
  assert.ok(served(log, '/node_modules/@legonet/efficientnet-lite0/efficientnet-lite0-f16.safetensors'), 'the weights came from the installed weights package');
  assert.deepEqual(log.filter((e) => e.status >= 400), [], 'the server answered every request');
}

test('installed: the same import-map page in Firefox ESR', { timeout: 600_000 }, async () => {
  const app = path.join(tmp, 'importmap'); // the app of the previous test
  assert.ok(fs.existsSync(path.join(app, 'node_modules/legonet')), 'the import-map app was installed by the previous test');
  const server = await serveDir(app);
  const firefox = await puppeteer.launch({ browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true });
  try {
    await runApp(`${server.url}/`, 'import map, firefox', firefox);
    checkImportMapLog(server.log);
  } finally {
    await firefox.close();
    await server.close();
  }
});

test('installed: the quickstart in a webpack 5 production build with no config, engine in its Worker and on the page', { timeout: 900_000 }, async () => {
  const app = makeApp('webpack', { html: 'index.html', tools: WEBPACK });
  const dist = path.join(app, 'dist');
  const { ms } = run(process.execPath, [path.join(app, 'node_modules/webpack-cli/bin/cli.js'), '--mode', 'production',
    '--entry', './main.js', '--output-path', dist, '--no-stats'], app);
  console.log(`[webpack] ${ms.toFixed(0)} ms: ${fs.readdirSync(dist).join(' ')}`);
  const log = await runBuilt(app, dist, './main.js', 'webpack');
  assert.ok(served(log, /^\/[\w-]+\.wasm$/), 'the wasm came from the build');
  assert.ok(served(log, /^\/[\w-]+\.safetensors$/), 'the weights came from the build');
  assert.deepEqual(log.filter((e) => /webgpu/.test(e.url)), [], 'the WebGPU wasm was not fetched');
});

/** A bundler's build of the app in `dist`, with the app's page (loading `script`) and photos
 *  copied in as a real app's html/copy plugin would: the quickstart run with the engine in its
 *  Worker, then with `worker: false` (the pool on the page starts the encoder Workers: a bundler
 *  that copied encoder-worker.js bare left its imports to 404, and runApp checks every request).
 *  Resolves to the server's log, every request answered. */
async function runBuilt(app, dist, script, label) {
  fs.writeFileSync(path.join(dist, 'index.html'), fs.readFileSync(path.join(app, 'index.html'), 'utf8').replace('./main.js', script));
  fs.cpSync(path.join(app, 'photos'), path.join(dist, 'photos'), { recursive: true });
  const server = await serveDir(dist);
  try {
    await runApp(`${server.url}/`, label);
    await runApp(`${server.url}/?worker=0`, `${label}, worker: false`);
    assert.deepEqual(server.log.filter((e) => e.status >= 400), [], 'the server answered every request');
    return server.log;
  } finally {
    await server.close();
  }
}


test('installed: the quickstart in an esbuild build set up as the README says, engine in its Worker and on the page', { timeout: 900_000 }, async () => {
  const app = makeApp('esbuild', { html: 'index.html', tools: [ESBUILD] });
  const dist = path.join(app, 'dist');
  const assets = path.join(dist, 'assets');
  // pkg/README.md, "esbuild": the two Worker scripts as entry points beside the bundle, and the
  // files their `new URL(...)`s name copied to where those resolve.
  const { ms } = run(path.join(app, 'node_modules/.bin/esbuild'), ['main.js', 'legonet/src/worker.js',
    'legonet/src/encoder-worker.js', '--bundle', '--format=esm', '--splitting', '--minify', '--entry-names=[name]',
    `--outdir=${assets}`, '--log-level=warning'], app);
  fs.mkdirSync(path.join(dist, 'wasm'));
  fs.copyFileSync(path.join(app, 'node_modules/legonet/wasm/legonet_bg.wasm'), path.join(dist, 'wasm/legonet_bg.wasm'));
  fs.copyFileSync(path.join(app, 'node_modules/@legonet/efficientnet-lite0/efficientnet-lite0-f16.safetensors'),
    path.join(assets, 'efficientnet-lite0-f16.safetensors'));
  console.log(`[esbuild] ${ms.toFixed(0)} ms: ${fs.readdirSync(assets).join(' ')}`);
  const log = await runBuilt(app, dist, './assets/main.js', 'esbuild');
  assert.ok(served(log, '/wasm/legonet_bg.wasm') && served(log, '/assets/efficientnet-lite0-f16.safetensors'));
  if (os.availableParallelism() > 1) assert.ok(served(log, '/assets/encoder-worker.js'), 'the encoder Worker ran');
});
