// The legonet demo: collect → train → predict → erase (with the forget report and a bitwise
// verify) → compare with baselines → privacy panel. It uses only the package's public API
// (`import … from 'legonet'`, mapped to pkg/src/index.js by the page's import map).
//
// This file boots the page and wires its events; demo-state.js holds the state, render.js draws
// it, actions.js and camera.js act on it, files.js turns picked and dropped files into photos.
import { LegoNet } from 'legonet';
import { $, toast } from './ui.js';
import * as thumbs from './thumbs.js';
import { ui, state, MODEL_NAME, OPTIONS } from './demo-state.js';
import { renderAll, renderSamples, counter } from './render.js';
import {
  addPhotos, addSamples, train, predictFrom, startLive, stopLive, forgetPhotos, removeClass, verify, compare,
  eraseEverything, addClass,
} from './actions.js';
import { startCollectCamera, stopCollectCamera, capture, startBurst, stopBurst } from './camera.js';
import { filesToItems, dropZone } from './files.js';

function bootStep(text, fraction) {
  $('boot-text').textContent = text;
  // Screen readers hear each phase once, not each file of it.
  const phase = text.replace(/\s*\d+\/\d+ files$/, '');
  if ($('boot-live').textContent !== phase) $('boot-live').textContent = phase;
  if (fraction != null) $('boot-bar').style.width = `${Math.round(fraction * 100)}%`;
  $('boot-bar').classList.toggle('indeterminate', fraction == null);
}

async function setupServiceWorker() {
  if (!('serviceWorker' in navigator)) return { active: false, why: 'this browser has no service workers' };
  if (!window.isSecureContext) return { active: false, why: 'service workers need HTTPS or localhost' };
  try {
    navigator.serviceWorker.addEventListener('message', (e) => {
      if (e.data?.type === 'legonet-demo:install') {
        bootStep(`Saving the app for offline use… ${e.data.done}/${e.data.total} files`, 0.1 + 0.6 * (e.data.done / e.data.total));
      }
    });
    const reg = await navigator.serviceWorker.register('sw.js');
    if (navigator.serviceWorker.controller) return { active: true, why: '' };
    const pending = reg.installing || reg.waiting;
    if (!pending) return { active: false, why: 'a hard reload bypassed the service worker' };
    bootStep('Saving the app for offline use…', 0.1);
    await new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
      pending.addEventListener('statechange', () => { if (pending.state === 'redundant') resolve(); });
      setTimeout(resolve, 180_000);
    });
    return navigator.serviceWorker.controller
      ? { active: true, why: '' }
      : { active: false, why: 'the service worker could not be installed' };
  } catch (e) {
    return { active: false, why: `service worker: ${e.message}` };
  }
}

async function loadSamples() {
  const doc = await (await fetch('www/samples/samples.json')).json();
  await Promise.all(doc.photos.map(async (p) => {
    p.blob = await (await fetch(`www/samples/${p.file}`)).blob();
    p.url = URL.createObjectURL(p.blob);
  }));
  return doc;
}

async function startEngine() {
  let saved = false;
  try { saved = (await thumbs.getMeta('saved')) === true; } catch { /* no OPFS: start empty */ }
  if (saved) {
    try {
      return { net: await LegoNet.load(MODEL_NAME, OPTIONS), restored: true };
    } catch (e) {
      toast(`Your saved model could not be restored (${e.code ?? e.name}: ${e.message}); starting empty.`, 'warn', 0);
    }
  }
  return { net: await LegoNet.create(OPTIONS), restored: false };
}

async function boot() {
  state('loading');
  bootStep('Loading…', 0.05);
  ui.sw = await setupServiceWorker();
  counter.setServiceWorker(ui.sw.active);
  bootStep('Loading the sample photos…', 0.72);
  try {
    ui.samples = await loadSamples();
  } catch (e) {
    ui.samples = { about: '', photos: [] };
    toast(`The sample photos could not be loaded (${e.message}).`, 'warn');
  }
  renderSamples();
  bootStep('Starting the engine: WebAssembly, the encoder weights, and a quick WebGPU-vs-CPU timing…', null);
  const t0 = performance.now();
  let restored;
  try {
    ({ net: ui.net, restored } = await startEngine());
  } catch (e) {
    state('failed');
    bootStep(`The engine could not start: ${e.message}. Reload to try again; from a clone, ./dev demo builds it.`, 0);
    $('boot').classList.add('failed');
    throw e;
  }
  const startMs = performance.now() - t0;
  await restoreThumbs();
  // Photos added but not trained before the reload are new photos of a trained model, as before it.
  ui.everTrained = restored && ui.net.examples().length > 0
    && (ui.net.pendingAdapters === 0 || (await thumbs.getMeta('trained').catch(() => false)) === true);
  ui.selected = ui.net.labels()[0] ?? null;
  counter.markReady();
  $('boot').hidden = true;
  showBackendNotice();
  if (restored) {
    toast(`Welcome back: your model and ${ui.net.examples().length} photos were restored from this browser.`, 'info');
  }
  console.info(`legonet demo ready in ${startMs.toFixed(0)} ms; backend ${JSON.stringify(ui.net.backend)}`);
  renderAll();
  state('ready');
}

async function restoreThumbs() {
  let records = [];
  try { records = await thumbs.allThumbs(); } catch { return; }
  const ids = new Set(ui.net.examples().map((e) => e.id));
  const stale = records.filter((r) => !ids.has(r.id)).map((r) => r.id);
  if (stale.length) await thumbs.deleteThumbs(stale).catch(() => {});
  for (const r of records) if (ids.has(r.id)) ui.thumbs.set(r.id, { url: URL.createObjectURL(r.blob), label: r.label, name: r.name, burst: r.burst });
}

function showBackendNotice() {
  const b = ui.net.backend;
  const n = $('notice');
  if (b.kind === 'webgpu') { n.hidden = true; return; }
  n.hidden = false;
  n.className = 'notice info';
  if (!('gpu' in navigator)) {
    n.textContent = 'This browser has no WebGPU, so the encoder runs on the CPU (WebAssembly). It is slower than on a GPU; everything else works the same.';
  } else {
    n.textContent = b.adapter && !b.adapter.isFallbackAdapter
      ? `The encoder runs on the CPU (WebAssembly): it was faster than WebGPU on this device (${b.reason}).`
      : `The encoder runs on the CPU (WebAssembly) — ${b.reason}. Everything works the same; on a GPU it would be faster.`;
  }
}

function wire() {
  // The buttons render.js draws say what they do; one listener maps them to actions.
  document.addEventListener('click', (e) => {
    const el = e.target.closest?.('[data-action]');
    if (!el || el.disabled) return;
    const { action } = el.dataset;
    if (action === 'erase') forgetPhotos(JSON.parse(el.dataset.ids));
    else if (action === 'remove-class') removeClass(el.dataset.label);
    else if (action === 'predict-sample') {
      const p = ui.samples.photos.find((s) => s.file === el.dataset.file);
      if (p) predictFrom(p.blob, { url: p.url, truth: p.label });
    }
  });
  $('add-class-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('class-name').value;
    $('class-name').value = '';
    addClass(v);
  });
  $('pick-files').addEventListener('change', async (e) => {
    const items = await filesToItems([...e.target.files]);
    e.target.value = '';
    if (items.length) addPhotos(items);
  });
  $('pick-folder').addEventListener('change', async (e) => {
    const files = [...e.target.files];
    e.target.value = '';
    const items = await filesToItems(files);
    if (items.length) addPhotos(items, 'Adding a folder');
  });
  // The inputs are hidden (their look cannot be styled): buttons open them, and Tab reaches those.
  $('pick-files-btn').addEventListener('click', () => $('pick-files').click());
  $('pick-folder-btn').addEventListener('click', () => $('pick-folder').click());
  $('predict-file-btn').addEventListener('click', () => $('predict-file').click());
  if (!('webkitdirectory' in HTMLInputElement.prototype)) $('pick-folder-btn').hidden = true;
  dropZone($('collect-drop'), async (files) => {
    const items = await filesToItems(files);
    if (items.length) addPhotos(items);
  });
  // Enter or Space on a drop zone itself (not on a button inside it) opens its file picker.
  const pickOnKey = (zone, input) => zone.addEventListener('keydown', (e) => {
    if (e.target === zone && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); $(input).click(); }
  });
  pickOnKey($('collect-drop'), 'pick-files');
  $('camera-collect').addEventListener('click', startCollectCamera);
  $('camera-close').addEventListener('click', stopCollectCamera);
  $('camera-capture').addEventListener('click', capture);
  // Hold to record: pointer (mouse, touch, pen) or Space/Enter; any release, leave or lost
  // focus stops it.
  const burstBtn = $('camera-burst');
  burstBtn.addEventListener('pointerdown', (e) => { e.preventDefault(); burstBtn.setPointerCapture?.(e.pointerId); startBurst(); });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) burstBtn.addEventListener(ev, () => stopBurst());
  burstBtn.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); startBurst(); } });
  burstBtn.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') stopBurst(); });
  burstBtn.addEventListener('blur', () => stopBurst());
  burstBtn.addEventListener('contextmenu', (e) => e.preventDefault()); // a long touch is a hold, not a menu
  document.addEventListener('visibilitychange', () => { if (document.hidden) stopBurst(); });
  $('add-samples').addEventListener('click', addSamples);
  $('train-btn').addEventListener('click', train);
  $('verify-btn').addEventListener('click', verify);
  $('compare-btn').addEventListener('click', compare);
  $('erase-all').addEventListener('click', eraseEverything);
  $('predict-file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    e.target.value = '';
    if (f) predictFrom(f, { name: f.name });
  });
  dropZone($('predict-drop'), (files) => files[0] && predictFrom(files[0], { name: files[0].name }));
  pickOnKey($('predict-drop'), 'predict-file');
  $('predict-camera').addEventListener('click', startLive);
  $('predict-camera-stop').addEventListener('click', stopLive);
  for (const id of ['show-credits', 'show-credits-2']) $(id).addEventListener('click', () => $('credits').showModal());
  // A drop anywhere else must not navigate away from the page (and lose the model in memory).
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}


wire();
boot().catch((e) => console.error(e));
