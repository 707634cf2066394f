// pkg/README.md's quickstart in a Vite app, with the demo's real sample photos. The test
// (tests/vite.test.mjs) serves the production build with /weights and /samples next to it and
// reads window.legonetResult (or window.legonetError) once document.body.dataset.done is set.
import { LegoNet } from 'legonet';

const CLASSES = ['Fish', 'Monuments', 'Tools'];
const TRAIN_PER_CLASS = 4;

const logEl = document.getElementById('log');
const log = (line) => { logEl.textContent += `${line}\n`; };

async function fetchBlob(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.blob();
}

async function loadImg(url) {
  const img = new Image();
  img.src = url;
  await img.decode();
  return img;
}

async function run() {
  const { photos } = await (await fetch('/samples/samples.json')).json();
  const train = CLASSES.flatMap((c) => photos.filter((p) => p.label === c && !p.heldOut).slice(0, TRAIN_PER_CLASS));
  const heldOut = CLASSES.map((c) => photos.find((p) => p.label === c && p.heldOut));

  const net = await LegoNet.create({ encoderUrl: '/weights/efficientnet-lite0.safetensors', backend: 'cpu', adapters: 4, activated: 2 });
  log(`backend: ${net.backend.kind}`);

  // One example alone (a Blob), the rest in one call.
  const [first, ...rest] = train;
  const firstId = await net.addExample(await fetchBlob(`/samples/${first.file}`), first.label);
  const restIds = await net.addExamples(await Promise.all(rest.map(async (p) => ({ image: await fetchBlob(`/samples/${p.file}`), label: p.label }))));
  log(`added ${1 + restIds.length} examples; labels ${JSON.stringify(net.labels())}`);

  const progress = [];
  const trained = await net.train({ onProgress: (p) => progress.push(p) });
  log(`trained: ${JSON.stringify(trained)}`);

  // Held-out photos: as an <img> element, as the README allows.
  const predictions = [];
  for (const p of heldOut) {
    const got = await net.predict(await loadImg(`/samples/${p.file}`));
    predictions.push({ file: p.file, want: p.label, got });
    log(`${p.file}: ${got[0].label} ${got[0].score.toFixed(3)} (want ${p.label})`);
  }

  const forget = await net.forget(firstId);
  log(`forget: ${JSON.stringify(forget)}`);
  const verify = await net.verify();
  log(`verify: ${JSON.stringify(verify)}`);

  const result = {
    backend: net.backend, encoderId: net.encoderId, labels: net.labels(),
    added: 1 + restIds.length, examplesAfterForget: net.examples().length,
    trained, trainProgress: progress.length, predictions, forget, verify,
  };
  net.dispose();
  return result;
}

run().then(
  (result) => { window.legonetResult = result; },
  (e) => { window.legonetError = { name: e?.name, code: e?.code, message: String(e?.message ?? e), stack: e?.stack }; log(`error: ${e}`); },
).finally(() => { document.body.dataset.done = 'yes'; });
