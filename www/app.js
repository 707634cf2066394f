// Demo page: encode a local photo with the wasm encoder and show its ImageNet top-5.
import init, { WasmEncoder } from '../pkg/wasm/legonet.js';

const $ = (id) => document.getElementById(id);
const status = (text, error = false) => { $('status').textContent = text; $('status').classList.toggle('error', error); };

async function loadEncoder() {
  await init();
  const weights = new Uint8Array(await (await fetch('weights/efficientnet-lite0.safetensors')).arrayBuffer());
  const encoder = await WasmEncoder.create(weights, 'flex');
  $('backend').textContent = `CPU (${encoder.backend}), encoder ${encoder.encoderId.slice(0, 12)}…`;
  return encoder;
}

async function toRgba(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  return canvas.getContext('2d').getImageData(0, 0, bitmap.width, bitmap.height);
}

const encoderReady = loadEncoder().then((e) => { status('Ready. Your photo never leaves this page.'); return e; },
  (e) => { status(`Could not load the encoder: ${e.message}`, true); throw e; });

async function classify(file) {
  const encoder = await encoderReady;
  let img;
  try { img = await toRgba(file); } catch { return status(`${file.name} is not an image this browser can read.`, true); }
  status('Encoding…');
  const t = performance.now();
  try {
    const out = await encoder.encodeRgba(img.data, img.width, img.height);
    $('timing').textContent = `Encoded in ${(performance.now() - t).toFixed(0)} ms on this device.`;
    $('preview').src = URL.createObjectURL(file);
    $('top5').replaceChildren(...out.top5[0].map((p) => {
      const li = document.createElement('li');
      li.innerHTML = `<strong></strong> <span class="muted"></span><div class="bar"></div>`;
      li.querySelector('strong').textContent = p.label;
      li.querySelector('span').textContent = `${(p.probability * 100).toFixed(1)}%`;
      li.querySelector('.bar').style.width = `${Math.max(2, p.probability * 100)}%`;
      return li;
    }));
    $('result').hidden = false;
    status('Done. Pick another photo any time.');
  } catch (e) {
    status(e.code === 'INVALID_IMAGE' ? e.message : `Encoding failed: ${e.message}`, true);
  }
}

$('file').addEventListener('change', (e) => e.target.files[0] && classify(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); e.dataTransfer.files[0] && classify(e.dataTransfer.files[0]); });
