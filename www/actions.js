// What the demo does: add photos, train, predict (a photo or the live camera), erase with the
// forget report and a bitwise verify, compare with baselines, erase everything. Each action runs
// under `run`, which keeps one at a time and turns errors into a toast.
import { $, h, toast, fmtMs, fmtInt, fmtBytes, classColour, barChart } from './ui.js';
import * as thumbs from './thumbs.js';
import { ui, state, MODEL_NAME, MAX_FILE_BYTES, LARGE_SIDE, MIN_SIDE, IMAGE_EXT, SAMPLE_SUFFIX } from './demo-state.js';
import { renderAll, renderClasses, renderButtons, examplesByLabel, rememberFocus, restoreFocus } from './render.js';

/** The comparison's method names as the page shows them. */
const METHOD_NAMES = { legonet: 'LegoNet', retrain: 'Retrain all', fixsisa: 'FixSISA', knn: 'KNN' };

export async function run(what, fn) {
  if (ui.busy) { toast(`Please wait: ${ui.busy} is still running.`, 'info', 3000); return undefined; }
  const focus = rememberFocus();
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
    renderAll(); // never throws: a broken part must not leave the page busy
    state('ready');
    restoreFocus(focus);
  }
}

export function reportError(e) {
  console.error(e);
  if (e?.code === 'QUOTA_EXCEEDED' || e?.name === 'QuotaExceededError') {
    toast('This browser\'s storage for the site is full. The model still works in this tab but will not survive a reload. Free some space, or use “Erase everything”.', 'error', 0);
  } else if (e?.code === 'ABORTED') {
    toast('Stopped. Nothing changed.', 'info');
  } else if (e?.code === 'STALE_MODEL') {
    // This tab's model is older than the saved one: it can no longer save, train or export.
    toast('This model was changed in another tab, so this tab can no longer save it. Reload to continue with the saved model (changes made here since then are lost).',
      'error', 0, { label: 'Reload', onclick: () => location.reload() });
  } else if (e?.code === 'INVALID_IMAGE') {
    toast(`That photo cannot be used: ${e.message}`, 'error');
  } else {
    toast(`Something went wrong: ${e?.message ?? e}${e?.code ? ` (${e.code})` : ''}`, 'error', 0);
  }
}

/** Saves the model; false when it could not (the error is reported). */
export async function persist() {
  try {
    await ui.net.save(MODEL_NAME);
    await thumbs.setMeta('saved', true);
    return true;
  } catch (e) {
    reportError(e);
    return false;
  }
}

/** Checks files before they reach the engine: not an image, too big, very large (downscaled).
 *  `progress(done, total)` after each file; stops early once `signal` is aborted. */
export async function prepare(items, { signal, progress = () => {} } = {}) {
  const ok = [];
  for (const [i, it] of items.entries()) {
    if (signal?.aborted) break;
    progress(i, items.length);
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
    // The encoder needs both sides at least MIN_SIDE px, after a very large photo is scaled down.
    if (Math.round(Math.min(bmp.width, bmp.height) * Math.min(1, LARGE_SIDE / Math.max(bmp.width, bmp.height))) < MIN_SIDE) {
      toast(`“${name}” is ${bmp.width}×${bmp.height}: too small or too narrow (photos need at least ${MIN_SIDE} px on each side). Skipped.`, 'warn');
      bmp.close();
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

/** Adds photos (items: [{ blob, label, name }]). The progress box and its Stop show from
 *  the start: reading a folder of large photos takes seconds before the encoder starts. */
export function addPhotos(items, what = 'Adding photos') {
  return run(what, async () => {
    const ac = new AbortController();
    const box = $('collect-activity');
    box.hidden = false;
    $('collect-bar').style.width = '0%';
    $('collect-stop').onclick = () => ac.abort();
    const t0 = performance.now();
    try {
      const ready = await prepare(items, {
        signal: ac.signal,
        progress: (done, total) => { $('collect-activity-text').textContent = `${what}: reading photo ${done + 1} of ${total}…`; },
      });
      if (ac.signal.aborted) throw Object.assign(new Error('adding was stopped'), { code: 'ABORTED' });
      if (!ready.length) return undefined;
      $('collect-activity-text').textContent = `${what}: describing ${ready.length} photo${ready.length === 1 ? '' : 's'} with the encoder…`;
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
      const saved = await persist();
      const ms = performance.now() - t0;
      if (saved) toast(`Added ${ids.length} photo${ids.length === 1 ? '' : 's'} (${fmtMs(ms)}, ${fmtMs(ms / ids.length)} each). Now train.`, 'ok', 4000);
      $('train-result').textContent = '';
      return ids;
    } finally {
      box.hidden = true;
    }
  });
}

export async function addSamples() {
  const photos = ui.samples.photos.filter((p) => !p.heldOut);
  await addPhotos(photos.map((p) => ({ blob: p.blob, label: p.label, name: `${p.file.split('/').pop()}${SAMPLE_SUFFIX}` })), 'Adding sample photos');
}

export function train() {
  return run('training', async () => {
    const ac = new AbortController();
    $('train-stop').hidden = false;
    $('train-stop').onclick = () => ac.abort();
    $('train-progress').hidden = false;
    $('train-bar').style.width = '0%';
    $('train-result').textContent = 'Training…';
    // Busy: screen readers wait for the outcome instead of reading each adapter's progress.
    $('train-result').setAttribute('aria-busy', 'true');
    try {
      const r = await ui.net.train({
        signal: ac.signal,
        onProgress: (p) => {
          $('train-bar').style.width = `${(100 * p.done) / p.total}%`;
          $('train-result').textContent = `Training adapter ${p.done} of ${p.total}…`;
        },
      });
      ui.everTrained = true;
      await thumbs.setMeta('trained', true).catch(() => {}); // after a reload, untrained photos read as new ones
      $('train-result').removeAttribute('aria-busy');
      $('train-result').replaceChildren(h('span.ok', { text: '✓ Trained ' }),
        `${r.adaptersTrained} adapter${r.adaptersTrained === 1 ? '' : 's'} on ${fmtInt(r.samplesReplayed)} photo-passes · ${fmtInt(r.paramsTrained)} parameters · ${fmtMs(r.ms, r.msResolution)}`);
      $('train-result').dataset.done = 'yes';
      await persist();
    } catch (e) {
      $('train-result').removeAttribute('aria-busy');
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

export async function showProbs(probs, truth) {
  const labels = ui.net.labels();
  // Classes that none of the photo's adapters knows come back absent: show them at 0 %.
  probs = [...probs, ...labels.filter((l) => !probs.some((p) => p.label === l)).map((label) => ({ label, score: 0 }))];
  const top = probs[0];
  // A test photo is graded only against a class of its own name (the user's classes may differ).
  const verdict = truth && labels.includes(truth)
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

export function predictFrom(blob, { url, truth, name } = {}) {
  if (!(ui.everTrained && ui.net.pendingAdapters === 0)) {
    toast(ui.everTrained ? 'Train the new photos first (step 2).' : 'Train the model first (step 2).', 'info', 3000);
    return undefined;
  }
  stopLive();
  return run('predicting', async () => {
    const img = $('predict-img');
    // No result on screen but this photo's: a photo that fails leaves none.
    const fail = () => {
      img.hidden = true;
      $('predict-placeholder').classList.remove('over-image');
      $('probs').replaceChildren();
      delete $('probs').dataset.top;
    };
    if (blob.size > MAX_FILE_BYTES) {
      fail();
      throw Object.assign(new Error(`this photo is ${fmtBytes(blob.size)}; the limit is ${fmtBytes(MAX_FILE_BYTES)}`), { code: 'INVALID_IMAGE' });
    }
    if (!url && !(blob.type ? blob.type.startsWith('image/') : IMAGE_EXT.test(name ?? ''))) {
      fail();
      toast(`“${name ?? 'That file'}” is not an image.`, 'warn');
      return;
    }
    img.src = url ?? URL.createObjectURL(blob);
    img.hidden = false;
    $('predict-placeholder').classList.add('over-image');
    document.querySelectorAll('.testphoto').forEach((b) => b.classList.toggle('on', b.querySelector('img').src === img.src));
    const t0 = performance.now();
    let probs;
    try { probs = await ui.net.predict(blob); } catch (e) { fail(); throw e; }
    await showProbs(probs, truth);
    $('probs').append(h('p.muted.small', { text: `Predicted on your device in ${fmtMs(performance.now() - t0)}.` }));
  });
}

export async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access here (it needs HTTPS or localhost)');
  return navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 640 } }, audio: false });
}

export async function startLive() {
  if (ui.live) return; // on already, or opening: a second camera would outlive "Stop camera"
  if (!(ui.everTrained && ui.net.pendingAdapters === 0)) { toast('Train the model first (step 2).', 'info', 3000); return; }
  const live = { stream: null, stop: false };
  ui.live = live;
  try { live.stream = await openCamera(); } catch (e) {
    if (ui.live === live) ui.live = null;
    toast(`No camera: ${e.message}`, 'warn');
    return;
  }
  if (live.stop) { live.stream.getTracks().forEach((t) => t.stop()); return; } // stopped while opening
  const video = $('predict-video');
  video.srcObject = live.stream;
  video.hidden = false;
  $('probs').setAttribute('aria-live', 'off'); // seven results a second would flood a screen reader
  $('predict-img').hidden = true;
  $('predict-placeholder').classList.add('over-image'); // the placeholder shows on hover only
  await video.play();
  $('predict-live-row').hidden = false;
  let frames = 0;
  const t0 = performance.now();
  while (!live.stop) {
    if (ui.busy || !video.videoWidth) { await new Promise((r) => setTimeout(r, 100)); continue; }
    // New photos to train, or no model left: the section locks, and the camera goes off with it
    // rather than showing what the old adapters or a removed class said.
    if (!canPredict()) { stopLive(); renderAll(); break; }
    try {
      const bmp = await createImageBitmap(video);
      const probs = await ui.net.predict(bmp);
      if (live.stop) break;
      await showProbs(probs);
      frames += 1;
      $('predict-live-rate').textContent = `${(frames / ((performance.now() - t0) / 1000)).toFixed(1)} predictions/s, all on this device`;
    } catch (e) {
      // Stopped (and perhaps started again) while this prediction ran: not this loop's camera.
      if (ui.live === live) {
        stopLive();
        renderAll();
        reportError(e);
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const canPredict = () => ui.everTrained && ui.net.pendingAdapters === 0 && ui.net.examples().length > 0;

export function stopLive() {
  if (!ui.live) return;
  ui.live.stop = true;
  ui.live.stream?.getTracks().forEach((t) => t.stop());
  ui.live = null;
  $('probs').setAttribute('aria-live', 'polite');
  $('predict-video').hidden = true;
  if ($('predict-img').hidden) $('predict-placeholder').classList.remove('over-image');
  $('predict-live-row').hidden = true;
}

export function forgetPhotos(ids) {
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

export function removeClass(label) {
  return run('removing a class', async () => {
    const gone = ui.net.examples().filter((e) => e.label === label).map((e) => e.id);
    const shown = gone.slice(0, 6).map((id) => ({ id, ...ui.thumbs.get(id) }));
    const before = ui.net.examples().length;
    const r = await ui.net.removeClass(label);
    await afterForget(r, gone, { title: `Removed the class “${label}” and its ${gone.length} photo${gone.length === 1 ? '' : 's'}`, shown, before });
  });
}

export async function afterForget(r, ids, { title, shown, before }) {
  try { await thumbs.deleteThumbs(ids); } catch (e) { reportError(e); }
  // The report shows a few erased photos until the next report; every other one goes now.
  const kept = new Set(shown.map((s) => s.url));
  for (const id of ids) {
    const url = ui.thumbs.get(id)?.url;
    if (url && !kept.has(url)) URL.revokeObjectURL(url);
    ui.thumbs.delete(id);
  }
  ui.lit = new Set(r.retrainedAdapters);
  ui.hover = new Set();
  const saved = await persist();
  const adapterParams = (await ui.net.memory().catch(() => null))?.adapterParams;
  const remaining = ui.net.examples();
  const left = remaining.length;
  // A photo is replayed once by each adapter it reaches: passes, comparable with the model's total.
  const passes = remaining.reduce((n, e) => n + e.adapters.length, 0);
  const { adapters } = ui.net.structure;
  const rep = $('forget-report');
  rep.replaceChildren(
    h('h4', { text: title }),
    h('div.gone', {}, shown.map((s) => (s.url ? h('img', { src: s.url, alt: 'erased photo' }) : h('span.noimg', { text: '?' })))),
    h('dl.report-stats', {},
      h('div', {}, h('dt', { text: 'Adapters retrained' }), h('dd', { text: `${r.retrainedAdapters.length} of ${adapters}${r.restructured ? ' (the photo count crossed a size level: all rebuilt)' : ''}` })),
      h('div', {}, h('dt', { text: 'Photo passes replayed' }), h('dd', {
        text: `${fmtInt(r.samplesReplayed)} of ${fmtInt(passes)}`, title: 'one pass per photo per adapter it reaches',
      })),
      h('div', {}, h('dt', { text: 'Parameters retrained' }), h('dd', {
        text: adapterParams ? `${fmtInt(r.paramsRetrained)} of ${fmtInt(adapterParams)}` : fmtInt(r.paramsRetrained),
      })),
      h('div', {}, h('dt', { text: 'Time' }), h('dd', { text: fmtMs(r.ms, r.msResolution) }))),
    h('p.small.muted', {
      text: `Retraining from scratch would replay all ${fmtInt(left)} remaining photos and every parameter. ${saved
        ? `The saved copy in this browser was rewritten too: the erased photo${ids.length === 1 ? ' is' : 's are'} gone from storage.`
        : 'The saved copy in this browser could not be rewritten (see the message).'}`,
    }),
    ...(adapters === 1 ? [h('p.small.muted.one-adapter', {
      text: 'Below 300 photos the model is one adapter (the most accurate with few photos), so an erase retrains all of it. From 300 photos it splits into 8 adapters, then 16 from 800 and 32 from 1,600, and an erase retrains only the 3 (at most) that the photo reached.',
    })] : []),
    receiptLink(r.receipt));
  // The whole report is long: screen readers hear its title and cost only.
  $('forget-live').textContent = `${title}. ${r.retrainedAdapters.length} of ${adapters} adapters retrained in ${fmtMs(r.ms, r.msResolution)}.`;
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
  ui.releaseLater = shown.map((s) => s.url).filter(Boolean).concat(rep.querySelector('#receipt-download')?.href ?? []);
}

/** "Download the receipt": this session's deletion receipts, oldest first, as one JSON file
 *  (`legonet verify MODEL --receipts FILE` checks them against an exported model). */
function receiptLink(receipt) {
  ui.receipts.push(receipt);
  const blob = new Blob([JSON.stringify(ui.receipts, null, 2)], { type: 'application/json' });
  return h('p.small', {},
    h('a', {
      id: 'receipt-download', href: URL.createObjectURL(blob), download: `legonet-receipt-${receipt.sequence}.json`,
      text: 'Download the receipt', dataset: { sequence: String(receipt.sequence) },
    }),
    ` — proof of this erase: it names the model before and after, commits to each erased photo without revealing it, and chains to the ${receipt.sequence - 1} erase${receipt.sequence === 2 ? '' : 's'} before it.`);
}

export function verify() {
  return run('verifying', async () => {
    $('verify-result').textContent = 'Replaying every adapter from its seed and its photos…';
    let v;
    try { v = await ui.net.verify(); } catch (e) { $('verify-result').textContent = ''; throw e; }
    const el = $('verify-result');
    el.dataset.ok = String(v.ok);
    if (v.ok) {
      const replayed = v.adaptersChecked === 1
        ? 'The adapter, retrained from its seed on the photos that remain, equals'
        : `All ${v.adaptersChecked} adapters, retrained from their seeds on the photos that remain, equal`;
      el.replaceChildren(h('span.ok', { text: '✓ Bitwise identical. ' }),
        `${replayed} the model bit for bit (${v.mismatches.length} mismatches, ${fmtMs(v.ms, v.msResolution)}).`);
    } else {
      el.replaceChildren(h('span.bad', { text: '✗ Mismatch. ' }), `Adapters ${v.mismatches.join(', ')} differ from their replay (${v.adaptersChecked} checked).`);
    }
  });
}

export function compare() {
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

export function eraseEverything() {
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
    // Forget everything in memory (every class), then empty this site's storage. A tab whose
    // model another tab changed may not forget (STALE_MODEL) but may still empty the storage;
    // it then reloads, so that nothing of the old model stays in its memory.
    let stale = false;
    try {
      for (const label of ui.net.labels()) ui.receipts.push((await ui.net.removeClass(label)).receipt);
    } catch (e) {
      if (e?.code !== 'STALE_MODEL') throw e;
      stale = true;
    }
    await ui.net.clearStorage();
    await thumbs.clearAll();
    for (const t of ui.thumbs.values()) URL.revokeObjectURL(t.url);
    for (const url of ui.releaseLater ?? []) URL.revokeObjectURL(url);
    ui.releaseLater = [];
    ui.thumbs.clear();
    if (stale) {
      toast('Erased this site\'s storage. This tab\'s model was out of date (another tab changed it), so the page reloads empty.', 'ok', 0);
      location.reload();
      return;
    }
    ui.lit = new Set();
    ui.hover = new Set();
    ui.everTrained = false;
    ui.selected = null;
    $('forget-report').replaceChildren(h('p.muted.small', { text: 'Erase something to see what it costs.' }));
    $('forget-live').textContent = '';
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

export function askClass() {
  $('class-name').focus();
  toast('Name a class first (or pick one above).', 'info', 3000);
  return null;
}

export async function addClass(label) {
  label = label.trim().replace(/\s+/g, ' ');
  if (!label) return;
  if (ui.net.labels().includes(label)) { ui.selected = label; renderClasses(); return; }
  await run('adding a class', async () => {
    await ui.net.addClass(label);
    ui.selected = label;
    await persist();
  });
}

