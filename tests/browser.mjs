// Shared set-up of the browser tests: the static server and a fresh headless Debian Chromium
// (playwright-core) or Debian Firefox ESR (puppeteer-core over WebDriver BiDi: playwright-core
// only drives its own patched Firefox). Both give a `page` with the calls the tests use (goto,
// evaluate, waitForFunction, 'request' / 'console' / 'pageerror' events), so scenarios
// (tests/scenarios.mjs) run unchanged in either.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { serve } from '../tools/serve.mjs';

export const SHARED = process.env.LEGONET_SHARED ?? path.resolve(import.meta.dirname, '../../shared');

export const DATASETS = process.env.LEGONET_DATASETS
  ?? path.join(process.env.LEGONET_CACHE ?? path.join(os.homedir(), '.cache/legonet'), 'datasets');

/**
 * Deterministic train / held-out split of gcompris-photos (built by set-up), served under
 * /datasets: per class, files sorted by name, the first `train` then the next `heldOut`.
 */
export function datasetPhotos(classes, { train, heldOut }) {
  const manifestPath = path.join(DATASETS, 'gcompris-photos/manifest.json');
  if (!fs.existsSync(manifestPath)) throw new Error(`${manifestPath} missing: run ./dev test (set-up builds the datasets)`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const out = { train: [], heldOut: [] };
  for (const label of classes) {
    const files = manifest.entries.filter((e) => e.class === label).map((e) => e.file).sort();
    if (files.length < train + heldOut) throw new Error(`${label}: only ${files.length} photos`);
    const url = (f) => `/datasets/gcompris-photos/${f}`;
    out.train.push(...files.slice(0, train).map((f) => ({ url: url(f), label })));
    out.heldOut.push(...files.slice(train, train + heldOut).map((f) => ({ url: url(f), label })));
  }
  return out;
}

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu',
];

/** Chromium's fake camera (a test pattern) and an automatic yes to the permission prompt. */
export const FAKE_CAMERA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

export const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';

/** Launches the browser on `profile`; resolves to { page, context, closeBrowser }. */
async function launch(browser, profile, camera, flags = []) {
  if (browser === 'firefox') {
    if (!fs.existsSync(FIREFOX)) throw new Error(`${FIREFOX} missing: run ./dev test (set-up installs Debian firefox-esr)`);
    const ff = await puppeteer.launch({
      browser: 'firefox', protocol: 'webDriverBiDi', executablePath: FIREFOX, headless: true, userDataDir: profile,
      // No update, telemetry or safe-browsing traffic of the browser's own (puppeteer sets most).
      extraPrefsFirefox: { 'network.captive-portal-service.enabled': false, 'network.connectivity-service.enabled': false },
    });
    const page = (await ff.pages())[0] ?? (await ff.newPage());
    return { page, context: ff, closeBrowser: () => ff.close() };
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // --headless is passed explicitly, with the flags that work on this machine
    args: [...CHROMIUM_FLAGS, ...(camera ? FAKE_CAMERA_FLAGS : []), ...flags],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { page, context, closeBrowser: () => context.close() };
}

/** Serves the repo root (+ the shared fixtures under /fixtures) and opens a fresh browser
 *  (`browser`: 'chromium' or 'firefox'); `camera: true` gives Chromium the fake camera (the
 *  other tests keep the default flags); `flags`: more Chromium flags; `mounts`: URL prefix → a
 *  folder served there instead. `requests`: what the page reported; `served`: what the server
 *  answered (every request of the page and its Workers). */
export async function openBrowser({ camera = false, browser = 'chromium', flags = [], mounts = {} } = {}) {
  const served = [];
  const server = await serve(0, '127.0.0.1', {
    '/fixtures': path.join(SHARED, 'encoder-reference/fixtures'),
    '/datasets': DATASETS,
    ...mounts, // URL prefix → folder, served instead of the repo's files there
  }, { log: served });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `legonet-${browser}-`));
  const { page, context, closeBrowser } = await launch(browser, profile, camera, flags);
  const ua = await page.evaluate(() => navigator.userAgent);
  const version = ua.match(/(Firefox|Chrome)\/[\d.]+/)?.[0] ?? ua; // e.g. 'Firefox/153.0', 'Chrome/156.0.0.0'
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text()); });
  page.on('pageerror', (e) => console.error('[page error]', e));
  return {
    page, context, server, requests, served, profile, browser, version,
    async close() {
      await closeBrowser();
      await server.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A fresh browser on the package test page (tests/pages/pkg.html), ready to use. */
export async function openPkgPage(options) {
  const b = await openBrowser(options);
  await b.page.goto(`${b.server.url}/tests/pages/pkg.html`);
  await b.page.waitForFunction(() => document.body?.dataset.ready === 'yes');
  return b;
}
