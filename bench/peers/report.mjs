// Turns the raw results of run.mjs into comparison rows, a markdown table and an SVG bar chart.
// `node bench/peers/report.mjs` re-renders from bench/peers/results/peers.json.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fmt = (v) => (v == null || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function adapterText(a) {
  if (!a) return 'no WebGPU adapter';
  return `${a.vendor ?? '?'} ${a.architecture ?? ''}${a.isFallbackAdapter ? ' (fallback adapter: SwiftShader, CPU software)' : ''}`.trim();
}

export function buildRows(r) {
  const rows = [];
  const b = r.browser ?? {};
  const leg = b.legonet?.backends ?? {};
  const ow = b['ort-wasm'];
  const og = b['ort-webgpu'];
  const chrome = `Chromium ${r.machine?.browser ?? ''}, ${r.machine?.cpu ?? ''} (${r.machine?.cores} cores)`;
  const coi = ow?.env ? `page cross-origin isolated: ${ow.env.crossOriginIsolated}` : '';
  for (const backend of ['flex', 'ndarray']) {
    for (const batch of [1, 8]) {
      const l = leg[backend]?.[`batch${batch}`]?.msPerImage;
      const p = ow?.[`batch${batch}`]?.msPerImage;
      rows.push({ group: 'browser CPU encoder', name: `encoder batch ${batch}: legonet wasm '${backend}' vs ORT-web wasm EP (1 thread, SIMD)`,
                  unit: 'ms/image', legonet: l ?? null, peer: p ?? null, ratio: l && p ? l / p : null,
                  where: `${chrome}; ${coi}`, note: leg[backend]?.error ?? ow?.error ?? null });
    }
  }
  for (const batch of [1, 8]) {
    const l = leg.wgpu?.[`batch${batch}`]?.msPerImage;
    const p = og?.[`batch${batch}`]?.msPerImage;
    rows.push({ group: 'browser WebGPU encoder', name: `encoder batch ${batch}: legonet 'wgpu' vs ORT-web webgpu EP`,
                unit: 'ms/image', legonet: l ?? null, peer: p ?? null, ratio: l && p ? l / p : null,
                where: `${chrome}; adapter: ${adapterText(b.legonet?.adapter ?? og?.adapter)}`, note: leg.wgpu?.error ?? og?.error ?? null });
  }
  const n = r.native;
  if (n) {
    for (const threads of [1, 2]) {
      const o = n.onnxruntime.find((x) => x.threads === threads);
      for (const backend of ['flex', 'ndarray']) {
        const l = n.legonet.find((x) => x.threads === threads && x.backend === backend);
        for (const batch of [1, 8]) {
          const lv = l?.[`batch${batch}_ms_per_image`];
          const pv = o?.[`batch${batch}_ms_per_image`];
          rows.push({ group: 'native CPU encoder', name: `native encoder batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''}: legonet '${backend}' (release CLI) vs onnxruntime ${n.machine.onnxruntime} CPU`,
                      unit: 'ms/image', legonet: lv ?? null, peer: pv ?? null, ratio: lv && pv ? lv / pv : null,
                      where: `${n.machine.cpu}, ${n.machine.cores} cores; legonet CPU/wall ${l?.cpu_s_over_wall_s ?? '?'}`, note: null });
        }
      }
    }
  }
  const tf = b.tfjs;
  const lt = b['legonet-train'];
  const legTrain = lt?.available ? 'legonet training API found but not wired into this benchmark' : 'legonet has no wasm training API yet';
  for (const [setName, s] of Object.entries(tf?.sets ?? {})) {
    const where = `${chrome}; TF.js ${tf.tfjsVersion} ${tf.backend} backend (SIMD ${tf.wasmSimd}, threads ${tf.wasmThreads})`;
    rows.push({ group: 'training', name: `train Dense(1280→${s.classes}) + Adam, batch 32, ${tf.epochs} epochs, ${s.n} samples: legonet vs TF.js model.fit`,
                unit: 'ms', legonet: null, peer: s.fit.ms, ratio: null, where, note: legTrain });
    rows.push({ group: 'training', name: `same, TF.js hand-written loop (optimizer.minimize)`,
                unit: 'ms', legonet: null, peer: s.loop.ms, ratio: null, where, note: legTrain });
    rows.push({ group: 'training', name: `forget 1 of ${s.n}: legonet vs TF.js exact retrain on n−1 (hand-written loop)`,
                unit: 'ms', legonet: null, peer: s.forgetLoop.ms, ratio: null, where, note: legTrain });
    rows.push({ group: 'knn', name: `KNN predict k=3 over ${s.n} examples: legonet vs knn-classifier predictClass`,
                unit: 'ms', legonet: null, peer: s.knn.predictMs, ratio: null, where, note: `${legTrain}; knn-classifier first call ${fmt(s.knn.firstPredictMs)} ms, addExample ×${s.n} ${fmt(s.knn.addAllMs)} ms, forget (clearClass + re-add) ${fmt(s.knn.forgetMs)} ms` });
  }
  return rows;
}

export function renderTable(r) {
  const rows = r.rows ?? buildRows(r);
  const lines = ['| row | legonet | peer | legonet / peer | machine / adapter | note |', '|---|---|---|---|---|---|'];
  for (const x of rows) {
    const ratio = x.ratio == null ? '—' : `**${x.ratio.toFixed(2)}**`;
    lines.push(`| ${x.name} | ${fmt(x.legonet)} | ${fmt(x.peer)} ${x.unit} | ${ratio} | ${x.where} | ${x.note ?? ''} |`);
  }
  return lines.join('\n') + '\n';
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars of legonet / peer on a log scale, 1.0 marked; only rows with a ratio. */
export function renderSvg(r) {
  const rows = (r.rows ?? buildRows(r)).filter((x) => x.ratio != null);
  const short = (x) => x.name.replace(' vs ORT-web wasm EP (1 thread, SIMD)', ' vs ORT-web wasm')
    .replace(/ \(release CLI\) vs onnxruntime [0-9.]+ CPU/, ' vs onnxruntime')
    .replace('native encoder ', 'native ').replace('encoder ', '');
  const W = 980, labelW = 470, barW = W - labelW - 60, rowH = 22, top = 56;
  const H = top + rows.length * rowH + 50;
  const lo = Math.log10(0.1), hi = Math.log10(Math.max(20, ...rows.map((x) => x.ratio * 1.2)));
  const X = (v) => labelW + ((Math.log10(Math.min(Math.max(v, 0.1), 10 ** hi)) - lo) / (hi - lo)) * barW;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">legonet / peer time (log scale; &lt; 1 = legonet faster)</text>`,
    `<text x="10" y="38" fill="#555">${esc(`${r.machine?.cpu ?? ''}, ${r.machine?.cores} cores, Chromium ${r.machine?.browser ?? ''}; ${r.finishedAt ?? ''}`)}</text>`];
  for (const t of [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100].filter((t) => Math.log10(t) <= hi + 1e-9)) {
    const x = X(t);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${top + rows.length * rowH}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
    out.push(`<text x="${x}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  const colors = { 'browser CPU encoder': '#3b7dd8', 'browser WebGPU encoder': '#8e5bd8', 'native CPU encoder': '#2a9d5c' };
  rows.forEach((x, i) => {
    const y = top + i * rowH;
    const x0 = X(1), x1 = X(x.ratio);
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(short(x))}</text>`);
    out.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(Math.abs(x1 - x0), 1)}" height="${rowH - 8}" fill="${colors[x.group] ?? '#888'}"/>`);
    out.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 15}" fill="#222">${x.ratio.toFixed(2)}×</text>`);
  });
  let lx = 10;
  for (const [g, c] of Object.entries(colors)) {
    out.push(`<rect x="${lx}" y="${H - 18}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${H - 9}">${g}</text>`);
    lx += 190;
  }
  out.push(`<text x="${lx}" y="${H - 9}" fill="#555">training/KNN rows: no legonet wasm API yet (see docs/peers.md)</text>`);
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
