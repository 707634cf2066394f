// Reading a browser profile from the outside, as a privacy reviewer would: every file under it,
// searched for windows of bytes that must not be there.
import fs from 'node:fs';
import path from 'node:path';

function* filesUnder(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

/** Every file of `dir` with its bytes (files that vanish while read are skipped). */
export function readFiles(dir) {
  const out = [];
  for (const file of filesUnder(dir)) {
    try { out.push({ file, data: fs.readFileSync(file) }); } catch (e) { if (e.code !== 'ENOENT') throw e; }
  }
  return out;
}

/** `count` windows of `width` bytes spread over `bytes` (from `from`, a fraction of its length). */
export function windowsOf(bytes, { count = 8, width = 64, from = 0 } = {}) {
  const start = Math.floor(bytes.length * from);
  const step = Math.max(1, Math.floor((bytes.length - start - width) / count));
  return Array.from({ length: count }, (_, i) => bytes.subarray(start + i * step, start + i * step + width));
}

/** The files (paths relative to `root`) holding any of `windows`. */
export function filesHolding(files, windows, root) {
  return files.filter(({ data }) => windows.some((w) => data.indexOf(w) >= 0)).map(({ file }) => path.relative(root, file));
}
