// Collecting from the webcam: one frame per click, or hold to record a burst (capture and
// encoding are two loops joined by a short queue; frames are skipped, never piled up).
import { $, toast } from './ui.js';
import * as thumbs from './thumbs.js';
import { ui, state } from './demo-state.js';
import { renderAll, renderClasses, renderTrain, renderButtons } from './render.js';
import { openCamera, reportError, persist, addPhotos, askClass } from './actions.js';

let opening = false;

export async function startCollectCamera() {
  if (ui.collectCamera || opening) return; // a second camera would outlive "Close camera"
  opening = true;
  let stream;
  try { stream = await openCamera(); } catch (e) { toast(`No camera: ${e.message}`, 'warn'); return; } finally { opening = false; }
  ui.collectCamera = stream;
  $('camera-video').srcObject = stream;
  $('camera-box').hidden = false;
  await $('camera-video').play();
}

export async function stopCollectCamera() {
  await stopBurst();
  ui.collectCamera?.getTracks().forEach((t) => t.stop());
  ui.collectCamera = null;
  $('camera-box').hidden = true;
}

export async function capture() {
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

export function burstStatus(b) {
  const el = $('burst-status');
  el.textContent = `${b.recording ? 'Recording' : 'Recorded'} to “${b.label}”: ${b.added} frame${b.added === 1 ? '' : 's'} added`
    + (b.queue.length ? `, ${b.queue.length} waiting` : '') + (b.skipped ? ` (${b.skipped} camera frames skipped while the encoder was busy)` : '');
  // Busy while frames come in: screen readers read the count once recording and encoding end.
  el.setAttribute('aria-busy', String(b.recording || b.queue.length > 0));
  el.dataset.added = String(b.added);
  el.dataset.recording = String(b.recording);
  el.dataset.maxQueued = String(b.maxQueued);
}

export function startBurst() {
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

export function stopBurst() {
  const b = ui.burst;
  if (!b) return Promise.resolve();
  b.stopped ??= finishBurst(b); // pointerup, lostpointercapture and blur may all ask
  return b.stopped;
}

export async function finishBurst(b) {
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
    const saved = await persist();
    $('train-result').textContent = '';
    if (saved) toast(`Recorded ${b.added} frame${b.added === 1 ? '' : 's'} to “${b.label}”. Now train.`, 'ok', 4000);
  }
  ui.busy = null;
  renderAll();
  state('ready');
}

