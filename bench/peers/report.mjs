// Turns the raw results of run.mjs into comparison rows, a markdown table and an SVG bar chart.
// `node bench/peers/report.mjs` re-renders from bench/peers/results/peers.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fmt = (v) => (v == null || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The rounds of an interleaved native run side by side (each legonet round ran right after its
 *  onnxruntime round, so a slow stretch of the VM hits both): the median of the per-round ratios
 *  and how many rounds legonet was ahead; null where the sides' rounds do not pair up. */
function pairedRounds(ours, theirs) {
  if (!ours || !theirs || ours.length !== theirs.length || ours.length < 2) return null;
  const ratios = ours.map((v, i) => v / theirs[i]).sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  const median = ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
  const ahead = ratios.filter((q) => q < 1).length;
  return `paired by round: legonet / onnxruntime ${median.toFixed(2)} (median of ${ratios.length} rounds), legonet ahead in ${ahead}`;
}

function adapterText(a) {
  if (!a) return 'no WebGPU adapter';
  if (a.architecture === 'swiftshader') return `SwiftShader (${a.vendor}, fallback adapter: CPU software, not a GPU)`;
  return `${a.vendor ?? '?'} ${a.architecture ?? ''}${a.isFallbackAdapter ? ' (fallback adapter: SwiftShader, CPU software)' : ''}`.trim();
}

/** The forget report of a legonet-train row: forget() returns { report, receipt } since deletion
 *  receipts (older runs stored the report itself). */
const forgetReport = (c) => c.lastForgetReport?.report ?? c.lastForgetReport;

export function buildRows(r) {
  const rows = [];
  const b = r.browser ?? {};
  const leg = b.legonet?.backends ?? {};
  const ow = b['ort-wasm'];
  const og = b['ort-webgpu'];
  const chrome = `Chromium ${String(r.machine?.browser ?? '').split('.')[0]}`;
  const coi = ow?.env ? `wasm, 1 thread, ${ow.env.crossOriginIsolated ? '' : 'not '}cross-origin isolated` : '';
  // 'cpu' (the fused kernels) is what legonet runs by default; burn's flex / ndarray paths stay
  // selectable and are measured too, in their own group (table only, not the chart).
  const group = (base, backend) => (backend === 'cpu' ? base : `${base}, burn '${backend}' path (not the default)`);
  for (const backend of ['cpu', 'flex', 'ndarray']) {
    for (const batch of [1, 8]) {
      const l = leg[backend]?.[`batch${batch}`]?.msPerImage;
      const p = ow?.[`batch${batch}`]?.msPerImage;
      if (backend !== 'cpu' && l == null) continue;
      rows.push({ group: group('browser CPU encoder', backend), name: `encoder batch ${batch}: legonet wasm '${backend}' vs ORT-web wasm EP (1 thread, SIMD)`,
                  unit: 'ms/image', legonet: l ?? null, peer: p ?? null, ratio: l && p ? l / p : null,
                  where: `${chrome}; ${coi}`, note: leg[backend]?.error ?? ow?.error ?? null });
    }
  }
  for (const batch of [1, 8]) {
    const l = leg.wgpu?.[`batch${batch}`]?.msPerImage;
    const p = og?.[`batch${batch}`]?.msPerImage;
    rows.push({ group: 'browser WebGPU encoder', name: `encoder batch ${batch}: legonet 'wgpu' vs ORT-web webgpu EP`,
                unit: 'ms/image', legonet: l ?? null, peer: p ?? null, ratio: l && p ? l / p : null,
                where: `${chrome}; ${adapterText(b.legonet?.adapter ?? og?.adapter)}`, note: leg.wgpu?.error ?? og?.error ?? null });
  }
  const ph = b.photos?.runners;
  if (ph) {
    const pool = ph['legonet-pool'];
    const peers = [
      ['ort-1thread', (o) => `ORT-web wasm EP, ${o.numThreads ?? 1} thread, same page (not cross-origin isolated: its default there)`],
      ['ort-threads-isolated', (o) => `ORT-web wasm EP, numThreads = ${o.numThreads ?? '?'} (= cores) on a page served with COOP/COEP (cross-origin isolated ${o.env?.crossOriginIsolated ? 'yes' : 'NO'})`],
    ];
    for (const [key, text] of peers) {
      const o = ph[key];
      const l = pool?.msPerPhoto, p = o?.msPerPhoto;
      rows.push({ group: 'browser batch encoding', name: `encode ${b.photos.photos} photos, decode included: legonet addExamples over its ${pool?.lanes ?? '?'} lanes vs ${o ? text(o) : key}`,
                  unit: 'ms/photo', legonet: l ?? null, peer: p ?? null, ratio: l && p ? l / p : null,
                  where: `${chrome}; ${r.machine?.cores} cores; median of ${b.photos.rounds} interleaved rounds`,
                  note: pool?.error ?? o?.error ?? `photos/s: legonet ${fmt(pool?.photosPerSecond)}, peer ${fmt(o?.photosPerSecond)}; legonet's page is not cross-origin isolated (the package needs no headers)` });
    }
  }
  const n = r.native;
  if (n) {
    for (const threads of [1, 2]) {
      const o = n.onnxruntime.find((x) => x.threads === threads);
      for (const backend of ['cpu', 'flex', 'ndarray']) {
        const l = n.legonet.find((x) => x.threads === threads && x.backend === backend);
        if (backend !== 'cpu' && !l) continue;
        for (const batch of [1, 8]) {
          const lv = l?.[`batch${batch}_ms_per_image`];
          const pv = o?.[`batch${batch}_ms_per_image`];
          rows.push({ group: group('native CPU encoder', backend), name: `native encoder batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''}: legonet '${backend}' (release CLI) vs onnxruntime ${n.machine.onnxruntime} CPU`,
                      unit: 'ms/image', legonet: lv ?? null, peer: pv ?? null, ratio: lv && pv ? lv / pv : null,
                      where: `native ${n.machine.cpu}, ${threads} thread${threads > 1 ? 's' : ''} (legonet CPU/wall ${l?.cpu_s_over_wall_s ?? '?'})`,
                      note: pairedRounds(l?.[`batch${batch}_rounds`], o?.[`batch${batch}_rounds`]) });
        }
      }
    }
  }
  const tf = b.tfjs;
  const lt = b['legonet-train'];
  const legNone = lt?.available === false ? 'legonet has no wasm training API in this build' : lt?.error ?? null;
  for (const [setName, s] of Object.entries(tf?.sets ?? {})) {
    const where = `${chrome}; TF.js ${tf.backend} (SIMD ${tf.wasmSimd ? 'yes' : 'no'}, threads ${tf.wasmThreads ? 'yes' : 'no'}); legonet WasmEngine '${lt?.backend ?? '?'}'`;
    const L = lt?.sets?.[setName]?.configs ?? {};
    const ratio = (l, p) => (l != null && p ? l / p : null);
    const shape = (c) => c.structure ? `${c.structure.adapters}×${c.structure.activated}` : `${c.config.adapters}×${c.config.activated}`;
    const label = (key, c) => key === 'default' ? `legonet's default (here ${shape(c)})` : `legonet ${shape(c)} (expert option)`;
    const acc = (a) => a ? `${(100 * a.accuracy).toFixed(1)} %` : null;
    const accNote = (lAcc, pAcc, peerName) => lAcc || pAcc
      ? `accuracy on held-out encodings (${(lAcc ?? pAcc).how}): legonet ${acc(lAcc) ?? '—'}, ${peerName} ${acc(pAcc) ?? '—'}` : null;
    const join = (...parts) => parts.filter(Boolean).join('; ');
    // The library's default is the headline; other configurations are extra rows, each with its accuracy.
    const keys = ['default', ...Object.keys(L).filter((k) => k !== 'default')].filter((k) => L[k]);
    for (const key of keys) {
      const c = L[key];
      const head = key === 'default';
      // Expert options are extra rows of the table (each with its accuracy), not bars of the chart.
      const group = (g) => (head ? g : `${g}, expert option (not the default)`);
      const trainNote = `${label(key, c)}, ridge heads; of which addMany ${fmt(c.addManyMs)} ms, training itself ${fmt(c.trainMs - c.addManyMs)} ms`;
      rows.push({ group: group('training'), name: head ? `train on ${s.n} encodings (${s.classes} classes): ${label(key, c)} vs TF.js Dense(1280→${s.classes}) + Adam, batch 32, ${tf.epochs} epochs, hand-written loop`
                                                : `same, ${label(key, c)} vs TF.js hand-written loop`,
                  unit: 'ms', legonet: c.trainMs, peer: s.loop.ms, ratio: ratio(c.trainMs, s.loop.ms), where,
                  legonetAccuracy: c.accuracy?.accuracy ?? null, peerAccuracy: s.loop.accuracy?.accuracy ?? null,
                  note: join(trainNote, accNote(c.accuracy, s.loop.accuracy, 'TF.js loop')) });
      if (head) rows.push({ group: 'training', name: `same, vs TF.js model.fit`,
                  unit: 'ms', legonet: c.trainMs, peer: s.fit.ms, ratio: ratio(c.trainMs, s.fit.ms), where,
                  legonetAccuracy: c.accuracy?.accuracy ?? null, peerAccuracy: null, note: null });
      rows.push({ group: group('forget'), name: head ? `forget 1 of ${s.n}: ${label(key, c)}, exact forget() vs TF.js exact retrain on n−1 (hand-written loop)`
                                              : `same, ${label(key, c)}`,
                  unit: 'ms', legonet: c.forgetMs, peer: s.forgetLoop.ms, ratio: ratio(c.forgetMs, s.forgetLoop.ms), where,
                  legonetAccuracy: c.accuracy?.accuracy ?? null, peerAccuracy: s.loop.accuracy?.accuracy ?? null,
                  note: join(`legonet's own report: ${fmt(forgetReport(c)?.elapsedMs)} ms inside wasm, ${forgetReport(c)?.samplesReplayed} samples replayed`,
                             accNote(c.accuracy, s.loop.accuracy, 'TF.js loop')) });
      const knnBase = c.compare?.find ? c.compare.find((m) => m.method === 'knn') : null;
      rows.push({ group: group('predict'), name: head ? `predict one encoding: ${label(key, c)} predict() vs knn-classifier predictClass k=3 over ${s.n} examples`
                                               : `same, ${label(key, c)}`,
                  unit: 'ms', legonet: c.predictMs, peer: s.knn.predictMs, ratio: ratio(c.predictMs, s.knn.predictMs), where,
                  legonetAccuracy: c.accuracy?.accuracy ?? null, peerAccuracy: s.knn.accuracy?.accuracy ?? null,
                  note: join(head && `knn-classifier first call ${fmt(s.knn.firstPredictMs)} ms, addExample ×${s.n} ${fmt(s.knn.addAllMs)} ms, forget (clearClass + re-add) ${fmt(s.knn.forgetMs)} ms` +
                        (knnBase ? `; legonet's KNN baseline (compare(), ${knnBase.nTrain} samples): build ${fmt(knnBase.trainMs)} ms, forget ${fmt(knnBase.forgetMs)} ms (timed inside wasm, ms resolution)` : ''),
                        accNote(c.accuracy, s.knn.accuracy, 'knn-classifier')) });
    }
    if (!keys.length) rows.push({ group: 'training', name: `train on ${s.n} encodings: legonet`, unit: 'ms', legonet: null, peer: s.loop.ms, ratio: null, where, note: legNone });
  }
  return rows;
}

export function renderTable(r) {
  const rows = r.rows ?? buildRows(r);
  const lines = ['| row | legonet | peer | legonet / peer | held-out accuracy (legonet / peer) | machine / adapter | note |', '|---|---|---|---|---|---|---|'];
  const pct = (a) => (a == null ? '—' : `${(100 * a).toFixed(1)} %`);
  for (const x of rows) {
    const ratio = x.ratio == null ? '—' : `**${x.ratio < 0.1 ? x.ratio.toPrecision(2) : x.ratio.toFixed(2)}**`;
    const accuracy = x.legonetAccuracy == null && x.peerAccuracy == null ? '' : `${pct(x.legonetAccuracy)} / ${pct(x.peerAccuracy)}`;
    lines.push(`| ${x.name} | ${fmt(x.legonet)} | ${fmt(x.peer)} ${x.unit} | ${ratio} | ${accuracy} | ${x.where} | ${x.note ?? ''} |`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars of legonet / peer on a log scale, 1.0 marked; only rows with a ratio. */
export function renderSvg(r) {
  const rows = (r.rows ?? buildRows(r)).filter((x) => x.ratio != null && !x.group.includes('not the default'));
  const short = (x) => x.name.replace(' vs ORT-web wasm EP (1 thread, SIMD)', ' vs ORT-web wasm')
    .replace(/ \(release CLI\) vs onnxruntime [0-9.]+ CPU/, ' vs onnxruntime')
    .replace(' vs ORT-web webgpu EP', ' vs ORT-web webgpu (SwiftShader)')
    .replace(/^encode (\d+) photos, decode included: legonet addExamples over its (\d+) lanes vs ORT-web wasm EP, (?:1 thread, same page.*|numThreads = (\d+).*)$/,
      (m, n, lanes, t) => `${n} photos: legonet ${lanes} lanes vs ORT-web ${t ? `${t} threads, COOP/COEP page` : '1 thread'}`)
    .replace('native encoder ', 'native ').replace(/^encoder /, 'browser ')
    .replace(/ \(\d+ classes\)/, '').replace(/Dense\(1280→\d+\) \+ Adam, batch 32, \d+ epochs, hand-written loop/, 'TF.js loop')
    .replace(' vs TF.js exact retrain on n−1 (hand-written loop)', ' vs TF.js retrain n−1').replace(', exact', '')
    .replace(/predict one encoding: (.*) predict\(\) vs knn-classifier predictClass k=3 over (\d+) examples/, 'predict ($2): $1 vs knn-classifier')
    .replace(/legonet's default \(here ([0-9]+×[0-9]+)\)/, 'legonet default ($1)').replace(' (expert option)', '')
    .replace(' vs TF.js hand-written loop', ' vs TF.js loop');
  const W = 1000, labelW = 520, barW = W - labelW - 60, rowH = 22, top = 56;
  const H = top + rows.length * rowH + 50;
  const lo = Math.log10(Math.min(0.1, ...rows.map((x) => x.ratio / 1.5))), hi = Math.log10(Math.max(20, ...rows.map((x) => x.ratio * 1.2)));
  const X = (v) => labelW + ((Math.log10(Math.min(Math.max(v, 10 ** lo), 10 ** hi)) - lo) / (hi - lo)) * barW;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">legonet / peer time (log scale; &lt; 1 = legonet faster)</text>`,
    `<text x="10" y="38" fill="#555">${esc(`${r.machine?.cpu ?? ''}, ${r.machine?.cores} cores, Chromium ${r.machine?.browser ?? ''}; ${r.finishedAt ?? ''}`)}</text>`];
  for (const t of [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100].filter((t) => Math.log10(t) <= hi + 1e-9 && Math.log10(t) >= lo - 1e-9)) {
    const x = X(t);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${top + rows.length * rowH}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
    out.push(`<text x="${x}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  const colors = { 'browser CPU encoder': '#3b7dd8', 'browser batch encoding': '#1f5fa8', 'browser WebGPU encoder': '#8e5bd8', 'native CPU encoder': '#2a9d5c', training: '#d8823b', forget: '#c0392b', predict: '#7f8c8d' };
  rows.forEach((x, i) => {
    const y = top + i * rowH;
    const x0 = X(1), x1 = X(x.ratio);
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(short(x))}</text>`);
    out.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(Math.abs(x1 - x0), 1)}" height="${rowH - 8}" fill="${colors[x.group] ?? '#888'}"/>`);
    out.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 15}" fill="#222">${x.ratio < 0.1 ? x.ratio.toPrecision(2) : x.ratio.toFixed(2)}×</text>`);
  });
  let lx = 10;
  for (const [g, c] of Object.entries(colors)) {
    out.push(`<rect x="${lx}" y="${H - 18}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${H - 9}">${g}</text>`);
    lx += 24 + 7 * g.length;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const r = JSON.parse(fs.readFileSync(path.join(here, 'results/peers.json'), 'utf8'));
  r.rows = buildRows(r);
  fs.writeFileSync(path.join(here, 'results/peers.json'), JSON.stringify(r, null, 1));
  fs.writeFileSync(path.join(here, 'results/table.md'), renderTable(r));
  fs.writeFileSync(path.join(here, '../../docs/peers.svg'), renderSvg(r));
  console.log(renderTable(r));
}
