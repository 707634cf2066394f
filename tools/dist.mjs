// `./dev dist`: the demo as one self-contained static folder (default dist/) that any static host
// serves as is, at its root or under a sub-path (GitHub Pages: https://user.github.io/legonet/).
// It holds exactly what the page fetches: index.html, the service worker, www/ (code, style, the
// sample photos of samples.json with their credits), the package's code (pkg/src) and wasm
// (pkg/wasm), and the weights. Every URL in these files is relative (the page's, the service
// worker's scope, the package's `new URL(…, import.meta.url)`); a root-absolute one (`/pkg/…`)
// would break under a sub-path, so the build refuses any.
//   node tools/dist.mjs [OUT]
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Top-level names of the folder: a string literal or attribute starting with `/` + one of them
 *  is a root-absolute URL into the site. */
const TOP = ['index.html', 'sw.js', 'www', 'pkg', 'weights'];
const ABSOLUTE = new RegExp(`(["'\`(=]|url\\()\\s*/(${TOP.map((t) => t.replace('.', '\\.')).join('|')})\\b`, 'g');

/** The files of the site, relative to the repository root. */
function siteFiles() {
  const samples = JSON.parse(fs.readFileSync(path.join(ROOT, 'www/samples/samples.json'), 'utf8'));
  const list = (dir, re) => fs.readdirSync(path.join(ROOT, dir)).filter((f) => re.test(f)).sort().map((f) => `${dir}/${f}`);
  const wasm = list('pkg/wasm', /\.(js|wasm)$/);
  if (!wasm.some((f) => f.endsWith('.wasm'))) throw new Error('pkg/wasm has no .wasm: run ./dev setup first');
  return [
    'index.html', 'sw.js',
    ...list('www', /\.(js|css)$/),
    'www/samples/samples.json', 'www/samples/CREDITS.md', ...samples.photos.map((p) => `www/samples/${p.file}`),
    ...list('pkg/src', /\.js$/), 'pkg/README.md', ...wasm,
    'weights/efficientnet-lite0-f16.safetensors',
  ];
}

/** Writes the site to `out` (emptied first); resolves to [{ file, bytes, sha256 }]. */
export function buildDist(out = path.join(ROOT, 'dist')) {
  const files = siteFiles();
  const problems = [];
  for (const f of files) {
    if (!fs.existsSync(path.join(ROOT, f))) problems.push(`${f}: missing (run ./dev setup)`);
    else if (/\.(html|js|css)$/.test(f)) {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      for (const m of text.matchAll(ABSOLUTE)) problems.push(`${f}: root-absolute URL …${text.slice(m.index, m.index + 40).split('\n')[0]}…`);
    }
  }
  if (problems.length) throw new Error(`dist: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  fs.rmSync(out, { recursive: true, force: true });
  const manifest = [];
  for (const f of files) {
    const to = path.join(out, f);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), to);
    const data = fs.readFileSync(to);
    manifest.push({ file: f, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  // GitHub Pages runs Jekyll unless told not to; Jekyll drops files and folders starting with `_`.
  fs.writeFileSync(path.join(out, '.nojekyll'), '');
  return manifest;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
  const manifest = buildDist(out);
  const total = manifest.reduce((s, m) => s + m.bytes, 0);
  for (const m of manifest.filter((m) => m.bytes > 1e6)) console.log(`  ${m.file}  ${(m.bytes / 1e6).toFixed(2)} MB`);
  console.log(`${path.relative(process.cwd(), out) || '.'}/: ${manifest.length} files, ${(total / 1e6).toFixed(2)} MB; serve it from any static host, at / or under a sub-path`);
}
