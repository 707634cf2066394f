// Shared set-up of the browser tests: the static server and a fresh headless Debian Chromium.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
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

/** Serves the repo root (+ the shared fixtures under /fixtures) and opens a fresh browser;
 *  `camera: true` gives it the fake camera (the other tests keep the default flags). */
export async function openBrowser({ camera = false } = {}) {
  const server = await serve(0, '127.0.0.1', {
    '/fixtures': path.join(SHARED, 'encoder-reference/fixtures'),
    '/datasets': DATASETS,
  });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // --headless is passed explicitly, with the flags that work on this machine
    args: camera ? [...CHROMIUM_FLAGS, ...FAKE_CAMERA_FLAGS] : CHROMIUM_FLAGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text()); });
  page.on('pageerror', (e) => console.error('[page error]', e));
  return {
    page, context, server, requests, profile,
    async close() {
      await context.close();
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
