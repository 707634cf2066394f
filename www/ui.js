// Small DOM helpers of the demo: elements, toasts, number formats, the adapters picture, charts.

export const $ = (id) => document.getElementById(id);

/** h('div.a.b', { attr: v, onclick: f }, ...children) */
export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'style') for (const [sk, sv] of Object.entries(v)) { if (sk.startsWith('--')) el.style.setProperty(sk, sv); else el.style[sk] = sv; }
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A message in the corner for `ms` (0: until dismissed); `action`: { label, onclick } adds a button. */
export function toast(message, kind = 'info', ms = 7000, action = null) {
  const el = h(`div.toast.${kind}`, { role: kind === 'error' ? 'alert' : 'status' },
    h('span', { text: message }),
    action ? h('button.btn.small.toast-action', { type: 'button', onclick: action.onclick }, action.label) : null,
    h('button.x', { 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'));
  $('toasts').append(el);
  while ($('toasts').children.length > 3) $('toasts').firstElementChild.remove(); // the newest three
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

/** Browsers coarsen timers (without cross-origin isolation Chromium to 0.1 ms, Firefox to 1 ms):
 *  given the clock's `step` (a report's `msResolution`), a time under it reads "< step" and none
 *  is printed finer than the step, so a 0 ms forget in Firefox does not pass for an exact 0. */
export function fmtMs(ms, step = 0) {
  if (step > 0 && ms < step) return `< ${+step.toPrecision(2)} ms`;
  const places = Math.min(ms < 10 ? 2 : ms < 100 ? 1 : 0, step > 0 ? Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) : 2);
  return `${places ? ms.toFixed(places) : Math.round(ms).toLocaleString('en')} ms`;
}
export const fmtInt = (n) => Math.round(n).toLocaleString('en');
export function fmtBytes(b) {
  if (b == null) return '–';
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MB`;
  return `${(b / 1024 ** 3).toFixed(2)} GB`;
}

/** A stable colour per class label. */
export function classColour(label, labels) {
  const palette = ['#5b7cfa', '#35c08e', '#ffb020', '#ef5da8', '#8b5cf6', '#14b8c4', '#f97316', '#64748b'];
  const i = labels.indexOf(label);
  return palette[(i < 0 ? 0 : i) % palette.length];
}

/**
 * The n adapters as a grid of cells: `members[i]` photos each; `lit` (retrained by the last erase)
 * and `hover` (used by the photo under the pointer) are sets of indices.
 */
export function renderAdapters(el, { n, members, lit = new Set(), hover = new Set() }) {
  if (el.children.length !== n) {
    el.replaceChildren(...Array.from({ length: n }, (_, i) => h('div.cell', { title: `adapter ${i}` },
      h('span.idx', { text: String(i) }), h('span.m'))));
  }
  [...el.children].forEach((cell, i) => {
    cell.classList.toggle('lit', lit.has(i));
    cell.classList.toggle('hover', hover.has(i));
    cell.classList.toggle('empty', !members[i]);
    cell.querySelector('.m').textContent = members[i] ? `${members[i]}` : '';
    cell.title = `adapter ${i}: ${members[i] ?? 0} photo${members[i] === 1 ? '' : 's'}${lit.has(i) ? ' — retrained by the last erase' : ''}`;
  });
}

/** Horizontal bar chart: rows [{ name, value, highlight }], value text via fmt; log scale optional. */
export function barChart(title, unit, rows, { fmt = (v) => String(v), log = false, max, better = 'lower' } = {}) {
  const vals = rows.map((r) => r.value).filter((v) => Number.isFinite(v));
  const top = max ?? Math.max(...vals, 1e-9);
  const scale = (v) => {
    if (!Number.isFinite(v) || v <= 0) return 0;
    if (!log) return v / top;
    const lo = Math.log10(Math.max(Math.min(...vals.filter((x) => x > 0)) / 3, 1e-3));
    return Math.max(0.02, (Math.log10(v) - lo) / (Math.log10(top) - lo || 1));
  };
  return h('figure.chart', {},
    h('figcaption', {}, h('b', { text: title }), unit ? h('span.muted', { text: ` ${unit}` }) : null,
      h('span.muted.small', { text: better === 'lower' ? ' · lower is better' : ' · higher is better' }),
      log ? h('span.muted.small', { text: ' · log scale' }) : null),
    ...rows.map((r) => h(`div.chart-row${r.highlight ? '.hl' : ''}`, {},
      h('span.chart-name', { text: r.name }),
      h('span.chart-track', {}, h('span.chart-bar', { style: { width: `${(scale(r.value) * 100).toFixed(1)}%` } })),
      h('span.chart-val', { text: Number.isFinite(r.value) ? fmt(r.value) : '–' }))));
}
