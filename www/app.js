// The legonet demo: collect → train → predict → erase (with the forget report and a bitwise
// verify) → compare with baselines → privacy panel. It uses only the package's public API
// (`import … from 'legonet'`, mapped to pkg/src/index.js by the page's import map).
import { LegoNet } from 'legonet';
import { $, h, toast, fmtMs, fmtInt, fmtBytes, classColour, renderAdapters, barChart } from './ui.js';
import * as thumbs from './thumbs.js';
import { createCounter } from './netcount.js';

const MODEL_NAME = 'demo';
// No adapters/activated: the library's default structure follows the number of photos.
const OPTIONS = { encoderUrl: 'weights/efficientnet-lite0.safetensors' };
const MAX_FILE_BYTES = 40 * 1024 * 1024; // refuse bigger files outright
const LARGE_SIDE = 4096; // the engine scales longer sides above this down before encoding
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|avif|heic|heif|tiff?|ico|svg)$/i;

const ui = {
  net: null,
  samples: null, // { about, photos: [{ file, label, heldOut, author, license, source, changes, blob, url }] }
  thumbs: new Map(), // example id → { url, label, name }
  selected: null, // class that new photos go to
  lit: new Set(), // adapters retrained by the last erase
  hover: new Set(),
  busy: null, // what runs now (string) or null
  everTrained: false,
  sw: { active: false, why: '' },
  live: null, // live camera prediction state
  collectCamera: null,
  burst: null, // the webcam burst being recorded (hold to record)
  lastReport: null,
  samplesAdded: false, // the sample pack is in the model (kept in the demo's meta store)
};

const counter = createCounter(renderCounter);
const state = (s) => { document.body.dataset.state = s; };

// ------------------------------------------------------------------------------------- boot

function bootStep(text, fraction) {
  $('boot-text').textContent = text;
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
  ui.samplesAdded = ui.net.examples().length > 0 && (await thumbs.getMeta('samplesAdded').catch(() => false)) === true;
  ui.everTrained = restored && ui.net.examples().length > 0 && ui.net.pendingAdapters === 0;
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

// ------------------------------------------------------------------------------- rendering

function examplesByLabel() {
  const by = new Map(ui.net.labels().map((l) => [l, []]));
  for (const e of ui.net.examples()) {
    if (!by.has(e.label)) by.set(e.label, []);
    by.get(e.label).push(e);
  }
  return by;
}

function renderAll() {
  renderClasses();
  renderTrain();
  renderGallery();
  renderAdaptersView();
  renderPredictAvailability();
  renderButtons();
  renderPrivacy();
}

function renderClasses() {
  const labels = ui.net.labels();
  if (ui.selected && !labels.includes(ui.selected)) ui.selected = labels[0] ?? null;
  const by = examplesByLabel();
  const box = $('classes');
  if (!labels.length) {
    box.replaceChildren(h('p.muted.small', { text: 'No classes yet. Add one below, or try the sample photos.' }));
  } else {
    box.replaceChildren(...labels.map((label) => h(`button.chip${label === ui.selected ? '.on' : ''}`, {
      type: 'button', role: 'radio', 'aria-checked': String(label === ui.selected),
      style: { '--c': classColour(label, labels) },
      onclick: () => { ui.selected = label; renderClasses(); },
    }, h('span.swatch'), h('span', { text: label }), h('span.count', { text: String(by.get(label)?.length ?? 0) }))));
  }
  $('target-class').textContent = ui.selected ?? 'a new class';
  $('camera-target').textContent = ui.selected ?? 'a new class';
}

function renderTrain() {
  const ex = ui.net.examples();
  $('stat-photos').textContent = String(ex.length);
  $('stat-classes').textContent = String(ui.net.labels().length);
  $('stat-pending').textContent = String(ui.net.pendingAdapters);
  const pending = ui.net.pendingAdapters;
  $('train-btn').textContent = ui.everTrained && pending ? `Train ${pending} adapter${pending === 1 ? '' : 's'}` : 'Train';
  $('train-btn').classList.toggle('pulse', pending > 0 && !ui.busy);
}

function renderButtons() {
  const busy = !!ui.busy;
  const ex = ui.net?.examples() ?? [];
  $('train-btn').disabled = busy || !ui.net || ui.net.pendingAdapters === 0 || ui.net.labels().length < 2;
  if (ui.net && !ui.net.examples().length) ui.samplesAdded = false;
  $('add-samples').disabled = busy || !ui.net || !ui.samples?.photos.length || ui.samplesAdded;
  $('add-samples').textContent = ui.samplesAdded ? '✓ Sample photos added' : 'Try with sample photos';
  $('verify-btn').disabled = busy || !ui.net || !ui.everTrained;
  $('compare-btn').disabled = busy || !ui.net || !ui.everTrained || ex.length < 2;
  $('erase-all').disabled = busy || !ui.net;
  for (const id of ['pick-files', 'pick-folder']) $(id).disabled = busy || !ui.net;
  document.querySelectorAll('.gallery .del, .gallery .remove-class, .gallery .burst-del').forEach((b) => { b.disabled = busy; });
  $('camera-capture').disabled = busy;
  $('camera-burst').disabled = busy && !ui.burst; // the button being held stays live
  if (ui.net && ui.net.labels().length < 2 && ex.length) {
    $('train-result').textContent = 'Add a second class: a classifier needs at least two.';
  }
}

function renderPredictAvailability() {
  const ready = ui.everTrained && ui.net.pendingAdapters === 0 && ui.net.examples().length > 0;
  $('predict').classList.toggle('locked', !ready);
  if (!ready) {
    $('predict-hint').textContent = ui.everTrained ? 'Train the new photos first.' : 'Train first, then try a photo.';
    if (!ui.live) $('probs').replaceChildren($('predict-hint'));
  }
}

function renderSamples() {
  const photos = ui.samples.photos;
  const train = photos.filter((p) => !p.heldOut);
  const nClasses = new Set(photos.map((p) => p.label)).size;
  const nTest = photos.length - train.length;
  $('samples-blurb').textContent = `${train.length} real photos in ${nClasses} classes (public domain / CC0), plus ${nTest} test photos kept aside for step 3.`;
  $('mosaic').replaceChildren(...train.slice(0, 24).map((p) => h('img', { src: p.url, alt: '', loading: 'lazy' })));
  $('testphotos').replaceChildren(...photos.filter((p) => p.heldOut).map((p) => h('button.testphoto', {
    type: 'button', title: `Test photo (${p.label}) — never used for training`, 'aria-label': `Predict test photo of ${p.label}`,
    dataset: { label: p.label, file: p.file },
    onclick: () => predictFrom(p.blob, { url: p.url, truth: p.label }),
  }, h('img', { src: p.url, alt: '' }))));
  $('credits-about').textContent = ui.samples.about;
  $('credits-list').replaceChildren(...photos.map((p) => h('li', {},
    h('img', { src: p.url, alt: '' }),
    h('div', {}, h('b', { text: `${p.label}${p.heldOut ? ' (test photo)' : ''}` }), h('br'),
      `${p.author} · ${p.license} · `, h('a', { href: p.source, rel: 'noopener', target: '_blank', text: 'source' }),
      h('div.muted', { text: `Changes: ${p.changes}` })))));
}

function renderGallery() {
  const by = examplesByLabel();
  const labels = ui.net.labels();
  const g = $('gallery');
  if (!ui.net.examples().length && !labels.length) {
    g.replaceChildren(h('p.muted.empty', { text: 'Your photos will appear here.' }));
    return;
  }
  g.replaceChildren(...[...by].map(([label, list]) => h('div.group', { dataset: { label } },
    h('div.group-head', {},
      h('span.swatch', { style: { background: classColour(label, labels) } }),
      h('b', { text: label }), h('span.muted.small', { text: `${list.length} photo${list.length === 1 ? '' : 's'}` }),
      h('button.btn.small.ghost.remove-class', {
        type: 'button', disabled: !!ui.busy, 'aria-label': `Remove class ${label}`,
        onclick: () => removeClass(label),
      }, 'Remove class')),
    burstBar(list),
    h('div.thumbs', {}, list.length ? list.map((e) => thumbEl(e)) : h('span.muted.small', { text: 'No photos yet.' })))));
}

/** One "erase burst" button per webcam burst among `list` (a class's examples), oldest first. */
function burstBar(list) {
  const bursts = new Map();
  for (const e of list) {
    const b = ui.thumbs.get(e.id)?.burst;
    if (b) bursts.set(b, [...(bursts.get(b) ?? []), e.id]);
  }
  if (!bursts.size) return null;
  return h('div.burst-bar', {}, [...bursts].map(([burst, ids]) => h('button.btn.small.burst-del', {
    type: 'button', disabled: !!ui.busy, dataset: { burst, frames: String(ids.length) },
    'aria-label': `Erase this burst of ${ids.length} camera frames`,
    onclick: () => forgetPhotos(ids),
  }, `Erase burst · ${ids.length} frame${ids.length === 1 ? '' : 's'} ×`)));
}

function thumbEl(e) {
  const t = ui.thumbs.get(e.id);
  const enter = () => { ui.hover = new Set(e.adapters); renderAdaptersView(); };
  const leave = () => { ui.hover = new Set(); renderAdaptersView(); };
  return h('figure.thumb', { dataset: { id: e.id }, onmouseenter: enter, onmouseleave: leave, onfocusin: enter, onfocusout: leave },
    t ? h('img', { src: t.url, alt: t.name ?? e.label, title: t.name ?? '' }) : h('div.noimg', { text: '?' }),
    h('button.del', {
      type: 'button', 'aria-label': `Erase this photo (${t?.name ?? e.id})`, title: 'Erase this photo', disabled: !!ui.busy,
      onclick: () => forgetPhotos([e.id]),
    }, '×'));
}

function renderAdaptersView() {
  const { adapters, activated } = ui.net.structure;
  $('n-adapters').textContent = String(adapters);
  $('k-activated').textContent = String(activated);
  const members = new Array(adapters).fill(0);
  for (const e of ui.net.examples()) for (const a of e.adapters) members[a] = (members[a] ?? 0) + 1;
  const n = Math.max(adapters, members.length);
  renderAdapters($('adapters'), { n, members, lit: ui.lit, hover: ui.hover });
  $('adapters-caption').textContent = ui.hover.size
    ? `(this photo uses adapters ${[...ui.hover].sort((a, b) => a - b).join(', ')})`
    : `(${n} adapters; numbers: photos each one learned from)`;
}

async function renderPrivacy() {
  if (!ui.net) return;
  const b = ui.net.backend;
  const a = b.adapter;
  const backendText = b.kind === 'webgpu'
    ? `WebGPU — ${[a?.vendor, a?.architecture, a?.description].filter(Boolean).join(' ') || 'GPU adapter'}`
    : `CPU (WebAssembly)${'gpu' in navigator ? '' : ' — this browser has no WebGPU'}`;
  $('fact-backend').replaceChildren(h('b', { text: backendText }), h('div.muted.small', { text: `Why: ${b.reason}` }));
  const ex = ui.net.examples();
  $('fact-model').textContent = `${ui.net.structure.adapters} adapter${ui.net.structure.adapters === 1 ? '' : 's'}, ${ui.net.structure.activated} per photo · ${ex.length} photo description${ex.length === 1 ? '' : 's'} · encoder ${ui.net.encoderId.slice(0, 12)}…`;
  $('fact-offline').textContent = ui.sw.active
    ? 'Yes: the page, the engine and the weights are cached by a service worker.'
    : `Not in this session (${ui.sw.why}).`;
  try {
    const [saved, th, mem] = await Promise.all([ui.net.savedModels(), thumbs.usage(), ui.net.memory()]);
    const model = saved.find((s) => s.name === MODEL_NAME);
    const usage = mem.storage?.usage;
    $('fact-storage').replaceChildren(
      h('div', { text: `Model + photo descriptions: ${model ? fmtBytes(model.bytes) : 'nothing saved'}` }),
      h('div', { text: `Thumbnails: ${th.count} (${fmtBytes(th.bytes)})` }),
      h('div.muted.small', { text: `This site's whole storage, app files included: ${fmtBytes(usage)}${mem.storage?.quota ? ` of ${fmtBytes(mem.storage.quota)} allowed` : ''}` }));
    $('fact-storage').dataset.modelBytes = String(model?.bytes ?? 0);
    $('fact-storage').dataset.thumbs = String(th.count);
  } catch (e) {
    $('fact-storage').textContent = `unknown (${e.message})`;
  }
}

function renderCounter(s) {
  const el = $('req-count');
  if (!s.ready) { el.textContent = '–'; return; }
  el.textContent = String(s.count);
  el.classList.toggle('bad', s.count > 0);
  $('req-how').textContent = `Counted by the ${s.source}.`;
  const short = (u) => (u.startsWith(location.origin) ? u.slice(location.origin.length) : u);
  $('req-list').replaceChildren(...s.list.map((u) => h('li', { text: short(u) })));
  $('req-startup').textContent = `While starting, the page and its engine loaded ${Math.max(s.startup.sw, s.startup.perf)} files`
    + (s.startup.fromCache ? ` (${s.startup.fromCache} from the offline cache)` : '') + ': the app\'s own files, none carrying anything of yours.';
  $('pill-text').replaceChildren(h('span.long', { text: 'On-device · ' }), `${s.count} request${s.count === 1 ? '' : 's'}`, h('span.long', { text: ' since ready' }));
  $('pill').classList.toggle('bad', s.count > 0);
  document.body.dataset.requests = String(s.count);
}

// ---------------------------------------------------------------------------------- actions

async function run(what, fn) {
  if (ui.busy) { toast(`Please wait: ${ui.busy} is still running.`, 'info', 3000); return undefined; }
  ui.busy = what;
  state('busy');
  renderButtons();
  try {
    return await fn();
  } catch (e) {
    reportError(e);
    return undefined;
  } finally {
    ui.busy = null;
    renderAll();
    state('ready');
  }
}

function reportError(e) {
  console.error(e);
  if (e?.code === 'QUOTA_EXCEEDED' || e?.name === 'QuotaExceededError') {
    toast('This browser\'s storage for the site is full. The model still works in this tab but will not survive a reload. Free some space, or use “Erase everything”.', 'error', 0);
  } else if (e?.code === 'ABORTED') {
    toast('Stopped. Nothing changed.', 'info');
  } else if (e?.code === 'INVALID_IMAGE') {
    toast(`That photo cannot be used: ${e.message}`, 'error');
  } else {
    toast(`Something went wrong: ${e?.message ?? e}${e?.code ? ` (${e.code})` : ''}`, 'error', 0);
  }
}

async function persist() {
  try {
    await ui.net.save(MODEL_NAME);
    await thumbs.setMeta('saved', true);
  } catch (e) {
    reportError(e);
  }
}

/** Checks files before they reach the engine: not an image, too big, very large (downscaled). */
async function prepare(items) {
  const ok = [];
  for (const it of items) {
    const name = it.name ?? 'photo';
    const looksImage = it.blob.type ? it.blob.type.startsWith('image/') : IMAGE_EXT.test(name);
    if (!looksImage) { toast(`“${name}” is not an image (${it.blob.type || 'unknown type'}), so it was skipped.`, 'warn'); continue; }
    if (it.blob.size > MAX_FILE_BYTES) {
      toast(`“${name}” is ${fmtBytes(it.blob.size)}; the demo takes photos up to ${fmtBytes(MAX_FILE_BYTES)}. Skipped.`, 'warn');
      continue;
    }
    let bmp;
    try { bmp = await createImageBitmap(it.blob); } catch {
      toast(`“${name}” could not be read as an image, so it was skipped.`, 'warn');
      continue;
    }
    if (Math.max(bmp.width, bmp.height) > LARGE_SIDE) {
      toast(`“${name}” is a very large photo (${bmp.width}×${bmp.height}); it is scaled down to ${LARGE_SIDE} px on your device before encoding.`, 'info');
    }
    const thumb = await thumbs.makeThumb(bmp);
    bmp.close();
    ok.push({ ...it, thumb });
  }
  return ok;
}

/** items: [{ blob, label, name }] */
/** Adds photos; `onAdded(ids)` runs before the page is ready again (so the UI never shows a
 *  state in between). */
function addPhotos(items, what = 'Adding photos', onAdded = async () => {}) {
  return run(what, async () => {
    const ready = await prepare(items);
    if (!ready.length) return;
    const ac = new AbortController();
    const box = $('collect-activity');
    box.hidden = false;
    $('collect-bar').style.width = '0%';
    $('collect-activity-text').textContent = `${what}: describing ${ready.length} photo${ready.length === 1 ? '' : 's'} with the encoder…`;
    $('collect-stop').onclick = () => ac.abort();
    const t0 = performance.now();
    try {
      const ids = await ui.net.addExamples(ready.map((r) => ({ image: r.blob, label: r.label })), {
        signal: ac.signal,
        onProgress: (p) => {
          $('collect-bar').style.width = `${(100 * p.done) / p.total}%`;
          $('collect-activity-text').textContent = `${what}: described ${p.done} of ${p.total} photos on your device…`;
        },
      });
      const records = ids.map((id, i) => ({ id, label: ready[i].label, name: ready[i].name, blob: ready[i].thumb, addedAt: Date.now() }));
      for (const r of records) ui.thumbs.set(r.id, { url: URL.createObjectURL(r.blob), label: r.label, name: r.name });
      try { await thumbs.putThumbs(records); } catch (e) { reportError(e); }
      if (!ui.selected) ui.selected = ready[0].label;
      await onAdded(ids);
      await persist();
      const ms = performance.now() - t0;
      toast(`Added ${ids.length} photo${ids.length === 1 ? '' : 's'} (${fmtMs(ms)}, ${fmtMs(ms / ids.length)} each). Now train.`, 'ok', 4000);
      $('train-result').textContent = '';
      return ids;
    } finally {
      box.hidden = true;
    }
  });
}

async function addSamples() {
  const photos = ui.samples.photos.filter((p) => !p.heldOut);
  await addPhotos(photos.map((p) => ({ blob: p.blob, label: p.label, name: `${p.file.split('/').pop()} (sample)` })), 'Adding sample photos', async (ids) => {
    if (!ids.length) return;
    ui.samplesAdded = true;
    await thumbs.setMeta('samplesAdded', true).catch(() => {});
  });
}

function train() {
  return run('training', async () => {
    const ac = new AbortController();
    $('train-stop').hidden = false;
    $('train-stop').onclick = () => ac.abort();
    $('train-progress').hidden = false;
    $('train-bar').style.width = '0%';
    $('train-result').textContent = 'Training…';
    try {
      const r = await ui.net.train({
        signal: ac.signal,
        onProgress: (p) => {
          $('train-bar').style.width = `${(100 * p.done) / p.total}%`;
          $('train-result').textContent = `Training adapter ${p.done} of ${p.total}…`;
        },
      });
      ui.everTrained = true;
      $('train-result').replaceChildren(h('span.ok', { text: '✓ Trained ' }),
        `${r.adaptersTrained} adapter${r.adaptersTrained === 1 ? '' : 's'} on ${fmtInt(r.samplesReplayed)} photo-passes · ${fmtInt(r.paramsTrained)} parameters · ${fmtMs(r.ms, r.msResolution)}`);
      $('train-result').dataset.done = 'yes';
      await persist();
    } catch (e) {
      if (e?.code === 'ABORTED') {
        $('train-result').textContent = 'Stopped. The model is exactly as it was before you pressed Train.';
        return;
      }
      $('train-result').textContent = '';
      throw e;
    } finally {
      $('train-stop').hidden = true;
      $('train-progress').hidden = true;
    }
  });
}

// Prediction ---------------------------------------------------------------------------------

async function showProbs(probs, truth) {
  const labels = ui.net.labels();
  // Classes that none of the photo's adapters knows come back absent: show them at 0 %.
  probs = [...probs, ...labels.filter((l) => !probs.some((p) => p.label === l)).map((label) => ({ label, score: 0 }))];
  const top = probs[0];
  const verdict = truth
    ? (top.label === truth
      ? h('p.verdict.ok', { text: `✓ ${top.label} — correct` })
      : h('p.verdict.bad', { text: `✗ ${top.label} — this test photo is “${truth}”` }))
    : h('p.verdict', { text: top.label });
  $('probs').replaceChildren(verdict, ...probs.map((p) => h(`div.prob${p === top ? '.top' : ''}`, { dataset: { label: p.label } },
    h('span.prob-label', { text: p.label }),
    h('span.prob-track', {}, h('span.prob-bar', { style: { width: `${Math.max(0.5, p.score * 100)}%`, background: classColour(p.label, labels) } })),
    h('span.prob-val', { text: `${(p.score * 100).toFixed(1)}%` }))));
  $('probs').dataset.top = top.label;
}

function predictFrom(blob, { url, truth, name } = {}) {
  if (!(ui.everTrained && ui.net.pendingAdapters === 0)) {
    toast(ui.everTrained ? 'Train the new photos first (step 2).' : 'Train the model first (step 2).', 'info', 3000);
    return undefined;
  }
  stopLive();
  return run('predicting', async () => {
    const img = $('predict-img');
    img.src = url ?? URL.createObjectURL(blob);
    img.hidden = false;
    $('predict-placeholder').classList.add('over-image');
    document.querySelectorAll('.testphoto').forEach((b) => b.classList.toggle('on', b.querySelector('img').src === img.src));
    if (blob.size > MAX_FILE_BYTES) throw Object.assign(new Error(`this photo is ${fmtBytes(blob.size)}; the limit is ${fmtBytes(MAX_FILE_BYTES)}`), { code: 'INVALID_IMAGE' });
    if (!url && !(blob.type ? blob.type.startsWith('image/') : IMAGE_EXT.test(name ?? ''))) {
      img.hidden = true;
      toast(`“${name ?? 'That file'}” is not an image.`, 'warn');
      return;
    }
    const t0 = performance.now();
    const probs = await ui.net.predict(blob);
    await showProbs(probs, truth);
    $('probs').append(h('p.muted.small', { text: `Predicted on your device in ${fmtMs(performance.now() - t0)}.` }));
  });
}

async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access here (it needs HTTPS or localhost)');
  return navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 640 } }, audio: false });
}

async function startLive() {
  if (!(ui.everTrained && ui.net.pendingAdapters === 0)) { toast('Train the model first (step 2).', 'info', 3000); return; }
  let stream;
  try { stream = await openCamera(); } catch (e) { toast(`No camera: ${e.message}`, 'warn'); return; }
  const video = $('predict-video');
  video.srcObject = stream;
  video.hidden = false;
  $('predict-img').hidden = true;
  await video.play();
  $('predict-live-row').hidden = false;
  const live = { stream, stop: false };
  ui.live = live;
  let frames = 0;
  const t0 = performance.now();
  while (!live.stop) {
    if (ui.busy || !video.videoWidth) { await new Promise((r) => setTimeout(r, 100)); continue; }
    try {
      const bmp = await createImageBitmap(video);
      const probs = await ui.net.predict(bmp);
      if (live.stop) break;
      await showProbs(probs);
      frames += 1;
      $('predict-live-rate').textContent = `${(frames / ((performance.now() - t0) / 1000)).toFixed(1)} predictions/s, all on this device`;
    } catch (e) { reportError(e); break; }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopLive() {
  if (!ui.live) return;
  ui.live.stop = true;
  ui.live.stream.getTracks().forEach((t) => t.stop());
  ui.live = null;
  $('predict-video').hidden = true;
  $('predict-live-row').hidden = true;
}

async function startCollectCamera() {
  let stream;
  try { stream = await openCamera(); } catch (e) { toast(`No camera: ${e.message}`, 'warn'); return; }
  ui.collectCamera = stream;
  $('camera-video').srcObject = stream;
  $('camera-box').hidden = false;
  await $('camera-video').play();
}

async function stopCollectCamera() {
  await stopBurst();
  ui.collectCamera?.getTracks().forEach((t) => t.stop());
  ui.collectCamera = null;
  $('camera-box').hidden = true;
}

async function capture() {
  const video = $('camera-video');
  if (!video.videoWidth) return;
  const label = ui.selected ?? askClass();
  if (!label) return;
  const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
  canvas.getContext('2d').drawImage(video, 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  await addPhotos([{ blob, label, name: `camera ${new Date().toLocaleTimeString()}` }], 'Adding a camera photo');
}

// Webcam bursts: while the button is held, frames go to the selected class as fast as the
// encoder Workers take them. Capture and encoding are two loops joined by a short queue: when it
// is full the camera's frames are skipped, never piled up, so memory stays flat and the page
// stays responsive however slow the encoder is; every frame in the queue is added.

/** Frames waiting for the encoder at most (a couple per encoder lane). */
const BURST_QUEUE = 8;

const nextFrame = (video) => new Promise((resolve) => {
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => resolve());
  else setTimeout(resolve, 33);
});

function burstStatus(b) {
  const el = $('burst-status');
  el.textContent = `${b.recording ? 'Recording' : 'Recorded'} to “${b.label}”: ${b.added} frame${b.added === 1 ? '' : 's'} added`
    + (b.queue.length ? `, ${b.queue.length} waiting` : '') + (b.skipped ? ` (${b.skipped} camera frames skipped while the encoder was busy)` : '');
  el.dataset.added = String(b.added);
  el.dataset.recording = String(b.recording);
  el.dataset.maxQueued = String(b.maxQueued);
}

function startBurst() {
  const video = $('camera-video');
  if (ui.burst || !ui.collectCamera || !video.videoWidth) return;
  if (ui.busy) { toast(`Please wait: ${ui.busy} is still running.`, 'info', 3000); return; }
  const label = ui.selected ?? askClass();
  if (!label) return;
  ui.busy = 'recording';
  state('busy');
  const b = { id: `burst-${Date.now().toString(36)}`, label, queue: [], added: 0, skipped: 0, maxQueued: 0, recording: true, wake: null, error: null };
  ui.burst = b;
  renderButtons();
  $('camera-burst').classList.add('recording');
  $('camera-burst').setAttribute('aria-pressed', 'true');
  $('camera-burst').textContent = 'Recording… release to stop';
  burstStatus(b);
  const wake = () => { b.wake?.(); b.wake = null; };
  b.capturing = (async () => {
    while (b.recording) {
      await nextFrame(video);
      if (!b.recording) break;
      if (b.queue.length >= BURST_QUEUE) { b.skipped++; continue; }
      try {
        const bitmap = await createImageBitmap(video);
        b.queue.push({ bitmap, thumb: await thumbs.makeThumb(bitmap) });
        b.maxQueued = Math.max(b.maxQueued, b.queue.length);
        wake();
      } catch (e) { b.error ??= e; b.recording = false; }
    }
    wake();
  })();
  b.encoding = (async () => {
    while (b.recording || b.queue.length) {
      if (!b.queue.length) { await new Promise((r) => { b.wake = r; }); continue; }
      const frames = b.queue.splice(0);
      try {
        const ids = await ui.net.addExamples(frames.map((f) => ({ image: f.bitmap, label })), {
          onProgress: (p) => { $('burst-status').dataset.encoding = `${p.done}/${p.total}`; },
        });
        const at = Date.now();
        const records = ids.map((id, i) => ({ id, label, name: `${b.id} frame ${b.added + i + 1}`, burst: b.id, blob: frames[i].thumb, addedAt: at }));
        for (const r of records) ui.thumbs.set(r.id, { url: URL.createObjectURL(r.blob), label, name: r.name, burst: b.id });
        b.added += ids.length;
        thumbs.putThumbs(records).catch(reportError);
        renderClasses();
        renderTrain();
      } catch (e) {
        b.error ??= e;
        b.recording = false;
      } finally {
        for (const f of frames) f.bitmap.close();
      }
      burstStatus(b);
    }
  })();
}

function stopBurst() {
  const b = ui.burst;
  if (!b) return Promise.resolve();
  b.stopped ??= finishBurst(b); // pointerup, lostpointercapture and blur may all ask
  return b.stopped;
}

async function finishBurst(b) {
  b.recording = false;
  b.wake?.();
  await b.capturing;
  await b.encoding; // every queued frame is still added
  ui.burst = null;
  $('camera-burst').classList.remove('recording');
  $('camera-burst').setAttribute('aria-pressed', 'false');
  $('camera-burst').textContent = 'Hold to record';
  burstStatus(b);
  if (b.error) reportError(b.error);
  if (b.added) {
    await persist();
    $('train-result').textContent = '';
    toast(`Recorded ${b.added} frame${b.added === 1 ? '' : 's'} to “${b.label}”. Now train.`, 'ok', 4000);
  }
  ui.busy = null;
  renderAll();
  state('ready');
}

// Erasing ------------------------------------------------------------------------------------

function forgetPhotos(ids) {
  return run('erasing', async () => {
    const shown = ids.map((id) => ({ id, ...ui.thumbs.get(id) }));
    const label = ui.net.examples().find((e) => e.id === ids[0])?.label;
    const before = ui.net.examples().length;
    const r = await ui.net.forget(ids);
    await afterForget(r, ids, {
      title: `Erased ${r.forgotten} photo${r.forgotten === 1 ? '' : 's'}${label ? ` of “${label}”` : ''}`, shown, before,
    });
  });
}

function removeClass(label) {
  return run('removing a class', async () => {
    const gone = ui.net.examples().filter((e) => e.label === label).map((e) => e.id);
    const shown = gone.slice(0, 6).map((id) => ({ id, ...ui.thumbs.get(id) }));
    const before = ui.net.examples().length;
    const r = await ui.net.removeClass(label);
    await afterForget(r, gone, { title: `Removed the class “${label}” and its ${gone.length} photo${gone.length === 1 ? '' : 's'}`, shown, before });
  });
}

async function afterForget(r, ids, { title, shown, before }) {
  try { await thumbs.deleteThumbs(ids); } catch (e) { reportError(e); }
  for (const id of ids) ui.thumbs.delete(id);
  ui.lit = new Set(r.retrainedAdapters);
  ui.hover = new Set();
  await persist();
  const adapterParams = (await ui.net.memory().catch(() => null))?.adapterParams;
  const left = ui.net.examples().length;
  const rep = $('forget-report');
  rep.replaceChildren(
    h('h4', { text: title }),
    h('div.gone', {}, shown.map((s) => (s.url ? h('img', { src: s.url, alt: 'erased photo' }) : h('span.noimg', { text: '?' })))),
    h('dl.report-stats', {},
      h('div', {}, h('dt', { text: 'Adapters retrained' }), h('dd', { text: `${r.retrainedAdapters.length} of ${ui.net.structure.adapters}${r.restructured ? ' (the photo count crossed a size level: all rebuilt)' : ''}` })),
      h('div', {}, h('dt', { text: 'Photos replayed' }), h('dd', { text: `${fmtInt(r.samplesReplayed)} of ${fmtInt(left)}` })),
      h('div', {}, h('dt', { text: 'Parameters retrained' }), h('dd', {
        text: adapterParams ? `${fmtInt(r.paramsRetrained)} of ${fmtInt(adapterParams)}` : fmtInt(r.paramsRetrained),
      })),
      h('div', {}, h('dt', { text: 'Time' }), h('dd', { text: fmtMs(r.ms, r.msResolution) }))),
    h('p.small.muted', {
      text: `Retraining from scratch would replay all ${fmtInt(left)} remaining photos and every parameter. The saved copy in this browser was rewritten too: the erased photo${ids.length === 1 ? ' is' : 's are'} gone from storage.`,
    }));
  rep.dataset.forgotten = String(r.forgotten);
  rep.dataset.retrained = r.retrainedAdapters.join(',');
  $('verify-result').textContent = '';
  delete $('verify-result').dataset.ok;
  ui.lastReport = { r, before };
  // On a phone the report sits below the gallery: bring it into view.
  const box = $('report').getBoundingClientRect();
  if (box.top > window.innerHeight || box.bottom < 0) $('report').scrollIntoView({ block: 'start', behavior: 'smooth' });
  // The thumbnails' object URLs shown in the report are released at the next report.
  for (const old of ui.releaseLater ?? []) URL.revokeObjectURL(old);
  ui.releaseLater = shown.map((s) => s.url).filter(Boolean);
}

function verify() {
  return run('verifying', async () => {
    $('verify-result').textContent = 'Replaying every adapter from its seed and its photos…';
    const v = await ui.net.verify();
    const el = $('verify-result');
    el.dataset.ok = String(v.ok);
    if (v.ok) {
      el.replaceChildren(h('span.ok', { text: '✓ Bitwise identical. ' }),
        `All ${v.adaptersChecked} adapters, retrained from their seeds on the photos that remain, equal the model bit for bit (${v.mismatches.length} mismatches, ${fmtMs(v.ms, v.msResolution)}).`);
    } else {
      el.replaceChildren(h('span.bad', { text: '✗ Mismatch. ' }), `Adapters ${v.mismatches.join(', ')} differ from their replay (${v.adaptersChecked} checked).`);
    }
  });
}

// Compare ------------------------------------------------------------------------------------

const METHOD_NAMES = { legonet: 'LegoNet', retrain: 'Retrain all', fixsisa: 'FixSISA', knn: 'KNN' };

function compare() {
  return run('comparing', async () => {
    if (typeof ui.net.compare !== 'function') {
      $('charts').replaceChildren(h('p.muted', { text: 'This build of the legonet package has no compare() yet.' }));
      return;
    }
    const by = [...examplesByLabel()].sort((a, b) => b[1].length - a[1].length);
    const victim = by[0][1].at(-1);
    const t = ui.thumbs.get(victim.id);
    $('compare-what').replaceChildren('Erasing ', t ? h('img.inline-thumb', { src: t.url, alt: '' }) : null, ` one “${victim.label}” photo out of ${ui.net.examples().length}…`);
    const rows = await ui.net.compare({ forget: [victim.id] });
    const order = ['legonet', 'retrain', 'fixsisa', 'knn'];
    rows.sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
    const mk = (key) => rows.map((r) => ({ name: METHOD_NAMES[r.method] ?? r.method, value: r[key], highlight: r.method === 'legonet' }));
    const nTest = rows[0]?.nTest ?? 0;
    const nTrain = rows[0]?.nTrain ?? 0;
    const acc = (v) => `${(v * 100).toFixed(0)}%${nTest ? ` (${Math.round(v * nTest)}/${nTest})` : ''}`;
    const ms = (v) => fmtMs(v, rows[0]?.msResolution);
    $('charts').replaceChildren(
      barChart('Time to erase', '', mk('forgetMs'), { fmt: ms, log: true }),
      barChart('Photos replayed', 'to erase', mk('samplesReplayed'), { fmt: fmtInt }),
      barChart('Parameters retrained', 'to erase', mk('paramsRetrained'), { fmt: fmtInt }),
      barChart('Accuracy', 'on the held-out photos', mk('accuracy'), { fmt: acc, max: 1, better: 'higher' }),
      barChart('Time to train', 'before any erase', mk('trainMs'), { fmt: ms, log: true }),
    );
    $('charts').dataset.methods = rows.map((r) => r.method).join(',');
    $('compare-what').replaceChildren(`Each method trained on ${nTrain} of your ${ui.net.examples().length} photo descriptions, was tested on the ${nTest} others, then erased one “${victim.label}” photo. `
      + 'The model on this page was not changed. With so few photos everything is quick; the costs of retraining grow with the number of photos, LegoNet\'s with the few adapters a photo touches.');
  });
}

// Erase everything -----------------------------------------------------------------------------

let eraseArmed = null;
function eraseEverything() {
  const btn = $('erase-all');
  if (!eraseArmed) {
    btn.textContent = 'Click again to erase everything';
    btn.classList.add('armed');
    eraseArmed = setTimeout(() => { eraseArmed = null; btn.textContent = 'Erase everything'; btn.classList.remove('armed'); }, 5000);
    return undefined;
  }
  clearTimeout(eraseArmed);
  eraseArmed = null;
  btn.textContent = 'Erase everything';
  btn.classList.remove('armed');
  stopLive();
  return run('erasing everything', async () => {
    // Forget everything in memory (every class), then empty this site's storage.
    for (const label of ui.net.labels()) await ui.net.removeClass(label);
    await ui.net.clearStorage();
    await thumbs.clearAll();
    for (const t of ui.thumbs.values()) URL.revokeObjectURL(t.url);
    ui.thumbs.clear();
    ui.lit = new Set();
    ui.hover = new Set();
    ui.everTrained = false;
    ui.selected = null;
    ui.samplesAdded = false;
    $('forget-report').replaceChildren(h('p.muted.small', { text: 'Erase something to see what it costs.' }));
    $('verify-result').textContent = '';
    $('train-result').textContent = '';
    $('charts').replaceChildren();
    $('compare-what').textContent = '';
    $('predict-img').hidden = true;
    const [saved, th] = await Promise.all([ui.net.savedModels(), thumbs.usage()]);
    const mem = await ui.net.memory();
    const res = $('erase-all-result');
    res.dataset.done = 'yes';
    res.replaceChildren(h('span.ok', { text: '✓ Erased. ' }),
      `Saved models: ${saved.length}. Thumbnails: ${th.count}. Photo descriptions in memory: ${mem.samples}. `
      + 'The app\'s own files (page, engine, weights) stay cached for offline use; none of them came from you.');
  });
}

// ------------------------------------------------------------------------------ wiring

function askClass() {
  $('class-name').focus();
  toast('Name a class first (or pick one above).', 'info', 3000);
  return null;
}

async function addClass(label) {
  label = label.trim().replace(/\s+/g, ' ');
  if (!label) return;
  if (ui.net.labels().includes(label)) { ui.selected = label; renderClasses(); return; }
  await run('adding a class', async () => {
    await ui.net.addClass(label);
    ui.selected = label;
    await persist();
  });
}

/** Files from a picker or a drop; a folder's sub-folder names become classes. */
async function filesToItems(files) {
  const items = [];
  for (const f of files) {
    const rel = f.webkitRelativePath || f.relPath || '';
    const parts = rel.split('/').filter(Boolean);
    const label = parts.length >= 3 ? parts[parts.length - 2] : ui.selected;
    items.push({ blob: f, label, name: f.name });
  }
  if (items.some((i) => !i.label)) { askClass(); return []; }
  return items;
}

/** Walks dropped folders (webkitGetAsEntry) so that a dropped folder works like the folder picker. */
async function droppedFiles(dt) {
  const entries = [...(dt.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dt.files];
  const out = [];
  const walk = async (entry, path) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      file.relPath = `${path}${file.name}`;
      out.push(file);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${path}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  // A single dropped folder "root/class/x.jpg": relPath has 3 parts; loose files have 1.
  for (const f of out) if (f.relPath.split('/').length === 2) f.relPath = `drop/${f.relPath}`;
  return out;
}

function dropZone(el, onFiles) {
  el.addEventListener('dragover', (e) => { e.preventDefault(); el.classList.add('over'); });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', async (e) => {
    e.preventDefault();
    el.classList.remove('over');
    onFiles(await droppedFiles(e.dataTransfer));
  });
}

function wire() {
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
  if (!('webkitdirectory' in HTMLInputElement.prototype)) $('pick-folder-label').hidden = true;
  dropZone($('collect-drop'), async (files) => {
    const items = await filesToItems(files);
    if (items.length) addPhotos(items);
  });
  $('collect-drop').addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('pick-files').click(); } });
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
  $('predict-camera').addEventListener('click', startLive);
  $('predict-camera-stop').addEventListener('click', stopLive);
  for (const id of ['show-credits', 'show-credits-2']) $(id).addEventListener('click', () => $('credits').showModal());
  // A drop anywhere else must not navigate away from the page (and lose the model in memory).
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
}

wire();
boot().catch((e) => console.error(e));
