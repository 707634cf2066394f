// Rendering: the page drawn from `ui` and the model's state. Nothing here acts: buttons carry a
// `data-action` (and its arguments) that app.js maps to actions.js, so drawing never imports
// what it draws buttons for.
import { $, h, fmtBytes, classColour, renderAdapters } from './ui.js';
import * as thumbs from './thumbs.js';
import { createCounter } from './netcount.js';
import { ui, MODEL_NAME, SAMPLE_SUFFIX } from './demo-state.js';

export function examplesByLabel() {
  const by = new Map(ui.net.labels().map((l) => [l, []]));
  for (const e of ui.net.examples()) {
    if (!by.has(e.label)) by.set(e.label, []);
    by.get(e.label).push(e);
  }
  return by;
}

export function renderAll() {
  // Each part on its own: one that throws must not leave the others (the buttons above all) stale.
  for (const render of [renderClasses, renderTrain, renderGallery, renderAdaptersView, renderPredictAvailability, renderButtons, renderPrivacy]) {
    try { render(); } catch (e) { console.error(e); }
  }
}

/** Where the keyboard focus is, in a form that survives a redraw (a busy page disables its buttons,
 *  which drops the focus, and the gallery's are drawn anew): the element's id, or in the gallery
 *  what the button does and its place among the gallery's buttons. */
export function rememberFocus() {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const gallery = $('gallery');
  if (!gallery.contains(el)) return el.id ? { id: el.id } : null;
  return { key: focusKey(el), index: [...gallery.querySelectorAll('button')].indexOf(el) };
}

/** Puts the focus back (see rememberFocus) unless it moved on meanwhile: on the same button, or
 *  where an erased one was, on the one that took its place. */
export function restoreFocus(memo) {
  if (!memo || (document.activeElement && document.activeElement !== document.body)) return;
  if (memo.id) {
    if (!$(memo.id)?.disabled) $(memo.id)?.focus();
    return;
  }
  const all = [...$('gallery').querySelectorAll('button:not([disabled])')];
  (all.find((b) => focusKey(b) === memo.key) ?? all[Math.min(memo.index, all.length - 1)])?.focus();
}

const focusKey = (el) => `${el.dataset.action}:${el.dataset.ids ?? el.dataset.label}`;

export function renderClasses() {
  const labels = ui.net.labels();
  if (ui.selected && !labels.includes(ui.selected)) ui.selected = labels[0] ?? null;
  const by = examplesByLabel();
  const box = $('classes');
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.label : undefined;
  if (!labels.length) {
    box.replaceChildren(h('p.muted.small', { text: 'No classes yet. Add one below, or try the sample photos.' }));
  } else {
    // A radio group: one Tab stop (the chosen class), arrow keys move the choice.
    const current = ui.selected ?? labels[0];
    const pick = (label) => { ui.selected = label; renderClasses(); };
    box.replaceChildren(...labels.map((label, i) => h(`button.chip${label === ui.selected ? '.on' : ''}`, {
      type: 'button', role: 'radio', 'aria-checked': String(label === ui.selected), tabindex: label === current ? '0' : '-1',
      style: { '--c': classColour(label, labels) }, dataset: { label },
      onclick: () => pick(label),
      onkeydown: (e) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
        const to = e.key === 'Home' ? 0 : e.key === 'End' ? labels.length - 1 : step ? (i + step + labels.length) % labels.length : -1;
        if (to < 0) return;
        e.preventDefault();
        pick(labels[to]);
        [...box.children].find((c) => c.dataset.label === labels[to])?.focus();
      },
    }, h('span.swatch'), h('span', { text: label }), h('span.count', { text: String(by.get(label)?.length ?? 0) }))));
    // Redrawn chips are new elements: the keyboard focus stays on the same class.
    if (focused !== undefined) [...box.children].find((c) => c.dataset.label === focused)?.focus();
  }
  // With no class yet, photos go nowhere until one is named (or a folder brings its own).
  $('target-class').textContent = ui.selected ?? 'a class (name one first)';
  $('camera-target').textContent = ui.selected ?? 'a class (name one first)';
}

export function renderTrain() {
  const ex = ui.net.examples();
  $('stat-photos').textContent = String(ex.length);
  $('stat-classes').textContent = String(ui.net.labels().length);
  $('stat-pending').textContent = String(ui.net.pendingAdapters);
  const pending = ui.net.pendingAdapters;
  $('train-btn').textContent = ui.everTrained && pending ? `Train ${pending} adapter${pending === 1 ? '' : 's'}` : 'Train';
  $('train-btn').classList.toggle('pulse', pending > 0 && !ui.busy);
}

export function renderButtons() {
  const busy = !!ui.busy;
  const ex = ui.net?.examples() ?? [];
  $('train-btn').disabled = busy || !ui.net || ui.net.pendingAdapters === 0 || ui.net.labels().length < 2;
  // The sample photos are in the model while any of their thumbnails is (by name, in every
  // version of the demo's storage).
  const samplesIn = [...ui.thumbs.values()].some((t) => t.name?.endsWith(SAMPLE_SUFFIX));
  $('add-samples').disabled = busy || !ui.net || !ui.samples?.photos.length || samplesIn;
  $('add-samples').textContent = samplesIn ? '✓ Sample photos added' : 'Try with sample photos';
  // Verify replays the trained model: not while new photos wait for Train (NOT_TRAINED).
  $('verify-btn').disabled = busy || !ui.net || !ui.everTrained || ui.net.pendingAdapters > 0;
  $('compare-btn').disabled = busy || !ui.net || !ui.everTrained || ex.length < 2;
  $('erase-all').disabled = busy || !ui.net;
  for (const id of ['pick-files', 'pick-folder', 'pick-files-btn', 'pick-folder-btn']) $(id).disabled = busy || !ui.net;
  document.querySelectorAll('.gallery .del, .gallery .remove-class, .gallery .burst-del').forEach((b) => { b.disabled = busy; });
  $('camera-capture').disabled = busy;
  $('camera-burst').disabled = busy && !ui.burst; // the button being held stays live
  if (ui.net && ui.net.labels().length < 2 && ex.length) {
    $('train-result').textContent = 'Add a second class: a classifier needs at least two.';
  }
}

// A result replaces the hint in #probs; kept here to be put back when the section locks again.
let predictHint;

export function renderPredictAvailability() {
  predictHint ??= $('predict-hint');
  const ready = ui.everTrained && ui.net.pendingAdapters === 0 && ui.net.examples().length > 0;
  $('predict').classList.toggle('locked', !ready);
  predictHint.textContent = ready
    ? 'Ready: pick a test photo, drop or choose one of yours, or start the live camera.'
    : ui.everTrained ? 'Train the new photos first.' : 'Train first, then try a photo.';
  if (!ready && !ui.live) {
    $('probs').replaceChildren(predictHint);
    delete $('probs').dataset.top;
  }
}

export function renderSamples() {
  const photos = ui.samples.photos;
  const train = photos.filter((p) => !p.heldOut);
  const nClasses = new Set(photos.map((p) => p.label)).size;
  const nTest = photos.length - train.length;
  $('samples-blurb').textContent = `${train.length} real photos in ${nClasses} classes (public domain / CC0), plus ${nTest} test photos kept aside for step 3.`;
  $('mosaic').replaceChildren(...train.slice(0, 24).map((p) => h('img', { src: p.url, alt: '', loading: 'lazy' })));
  $('testphotos').replaceChildren(...photos.filter((p) => p.heldOut).map((p) => h('button.testphoto', {
    type: 'button', title: `Test photo (${p.label}) — never used for training`, 'aria-label': `Predict test photo of ${p.label}`,
    dataset: { action: 'predict-sample', label: p.label, file: p.file },
  }, h('img', { src: p.url, alt: '' }))));
  $('credits-about').textContent = ui.samples.about;
  $('credits-list').replaceChildren(...photos.map((p) => h('li', {},
    h('img', { src: p.url, alt: '' }),
    h('div', {}, h('b', { text: `${p.label}${p.heldOut ? ' (test photo)' : ''}` }), h('br'),
      `${p.author} · ${p.license} · `, h('a', { href: p.source, rel: 'noopener', target: '_blank', text: 'source' }),
      h('div.muted', { text: `Changes: ${p.changes}` })))));
}

export function renderGallery() {
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
        dataset: { action: 'remove-class', label },
      }, 'Remove class')),
    burstBar(list),
    h('div.thumbs', {}, list.length ? list.map((e) => thumbEl(e)) : h('span.muted.small', { text: 'No photos yet.' })))));
}

/** One "erase burst" button per webcam burst among `list` (a class's examples), oldest first. */
export function burstBar(list) {
  const bursts = new Map();
  for (const e of list) {
    const b = ui.thumbs.get(e.id)?.burst;
    if (b) bursts.set(b, [...(bursts.get(b) ?? []), e.id]);
  }
  if (!bursts.size) return null;
  return h('div.burst-bar', {}, [...bursts].map(([burst, ids]) => h('button.btn.small.burst-del', {
    type: 'button', disabled: !!ui.busy, dataset: { burst, frames: String(ids.length), action: 'erase', ids: JSON.stringify(ids) },
    'aria-label': `Erase this burst of ${ids.length} camera frames`,
  }, `Erase burst · ${ids.length} frame${ids.length === 1 ? '' : 's'} ×`)));
}

export function thumbEl(e) {
  const t = ui.thumbs.get(e.id);
  const enter = () => { ui.hover = new Set(e.adapters); renderAdaptersView(); };
  const leave = () => { ui.hover = new Set(); renderAdaptersView(); };
  return h('figure.thumb', { dataset: { id: e.id }, onmouseenter: enter, onmouseleave: leave, onfocusin: enter, onfocusout: leave },
    t ? h('img', { src: t.url, alt: t.name ?? e.label, title: t.name ?? '' }) : h('div.noimg', { text: '?' }),
    h('button.del', {
      type: 'button', 'aria-label': `Erase this photo (${t?.name ?? e.id})`, title: 'Erase this photo', disabled: !!ui.busy,
      dataset: { action: 'erase', ids: JSON.stringify([e.id]) },
    }, '×'));
}

export function renderAdaptersView() {
  const { adapters, activated } = ui.net.structure;
  $('n-adapters').textContent = String(adapters);
  $('k-activated').textContent = String(activated);
  const members = new Array(adapters).fill(0);
  for (const e of ui.net.examples()) for (const a of e.adapters) members[a] = (members[a] ?? 0) + 1;
  const n = Math.max(adapters, members.length);
  renderAdapters($('adapters'), { n, members, lit: ui.lit, hover: ui.hover });
  $('adapters-caption').textContent = ui.hover.size
    ? `(this photo uses adapters ${[...ui.hover].sort((a, b) => a - b).join(', ')})`
    : n === 1
      ? '(1 adapter; the number: photos it learned from)'
      : `(${n} adapters; numbers: photos each one learned from)`;
}

export async function renderPrivacy() {
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

export function renderCounter(s) {
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

/** The network-request counter of the privacy panel. */
export const counter = createCounter(renderCounter);
