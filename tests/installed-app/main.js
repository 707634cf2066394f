// pkg/README.md's quickstart as an app that installed the packages from their tarballs does it:
// no encoderUrl (the weights come from @legonet/efficientnet-lite0). Real photos of 3 classes
// (photos/photos.json, copied in by tests/installed.test.mjs): create on the CPU, add, train,
// predict the held-out photos, forget one, verify. The test reads window.legonetResult (or
// window.legonetError) once document.body.dataset.done is set.
import { LegoNet } from 'legonet';

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
  // Relative URLs: the app works wherever it is served from.
  const photos = await (await fetch('photos/photos.json')).json();
  const train = photos.filter((p) => !p.heldOut);
  const heldOut = photos.filter((p) => p.heldOut);

  // `?worker=0`: the engine on this page's thread (the tests run both).
  const net = await LegoNet.create({ backend: 'cpu', worker: new URLSearchParams(location.search).get('worker') !== '0' });
  log(`backend: ${net.backend.kind}; encoder ${net.encoderId}`);

  // One example alone (a Blob), the rest in one call.
  const [first, ...rest] = train;
  const firstId = await net.addExample(await fetchBlob(`photos/${first.file}`), first.label);
  const restIds = await net.addExamples(await Promise.all(rest.map(async (p) => ({ image: await fetchBlob(`photos/${p.file}`), label: p.label }))));
  log(`added ${1 + restIds.length} examples; labels ${JSON.stringify(net.labels())}`);

  const progress = [];
  const trained = await net.train({ onProgress: (p) => progress.push(p) });
  log(`trained: ${JSON.stringify(trained)}`);

  // Held-out photos as <img> elements, as the README allows.
  const predictions = [];
  for (const p of heldOut) {
    const got = await net.predict(await loadImg(`photos/${p.file}`));
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
