// The demo's own storage, in the Origin Private File System. The library keeps encodings, never
// photos; to show a gallery after a reload the demo keeps a small JPEG thumbnail per example, one
// file per example id, removed whenever that example is forgotten. `meta.json` holds a few flags
// (is a model saved). Not IndexedDB: a deleted IndexedDB record's bytes stay readable in
// Chromium's LevelDB log, and an erased photo's thumbnail must leave the disk.
//
// Thumbnail file: u32 header length, JSON { id, label, name, addedAt, type }, then the JPEG.

const DIR = 'legonet-demo';
const LEGACY_DB = 'legonet-demo'; // the IndexedDB of earlier versions: dropped with its residue

const hex = (s) => Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, '0')).join('');

let dirs;
function open() {
  dirs ??= (async () => {
    try { indexedDB.deleteDatabase(LEGACY_DB); } catch { /* no IndexedDB: nothing to drop */ }
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(DIR, { create: true });
    return { root, thumbs: await root.getDirectoryHandle('thumbs', { create: true }) };
  })();
  return dirs;
}

async function writeFile(dir, name, blob) {
  const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
  await w.write(blob);
  await w.close();
}

async function removeIfAny(dir, name) {
  try { await dir.removeEntry(name); } catch (e) { if (e?.name !== 'NotFoundError') throw e; }
}

/** Makes a square JPEG thumbnail (side px) of anything createImageBitmap takes. */
export async function makeThumb(source, side = 160) {
  const bmp = source instanceof ImageBitmap ? source : await createImageBitmap(source);
  const s = Math.min(bmp.width, bmp.height);
  const canvas = new OffscreenCanvas(side, side);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bmp, (bmp.width - s) / 2, (bmp.height - s) / 2, s, s, 0, 0, side, side);
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
}

/** Stores records `{ id, label, name, blob, addedAt }`. */
export async function putThumbs(records) {
  const { thumbs } = await open();
  for (const { blob, ...info } of records) {
    const head = new TextEncoder().encode(JSON.stringify({ ...info, type: blob.type }));
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, head.length, true);
    await writeFile(thumbs, hex(info.id), new Blob([len, head, blob]));
  }
}

export async function deleteThumbs(ids) {
  const { thumbs } = await open();
  for (const id of ids) await removeIfAny(thumbs, hex(id));
}

export async function allThumbs() {
  const { thumbs } = await open();
  const out = [];
  for await (const handle of thumbs.values()) {
    const file = await handle.getFile();
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes.length < 4) continue;
    const len = new DataView(bytes.buffer).getUint32(0, true);
    try {
      const info = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len)));
      out.push({ ...info, blob: new Blob([bytes.subarray(4 + len)], { type: info.type }) });
    } catch { /* a torn write: skip it, the model decides which examples exist */ }
  }
  return out;
}

async function readMeta() {
  const { root } = await open();
  try {
    return JSON.parse(await (await (await root.getFileHandle('meta.json')).getFile()).text());
  } catch { return {}; }
}

export async function getMeta(key) {
  return (await readMeta())[key];
}

let metaWrites = Promise.resolve(); // read-modify-write of one file: one at a time
export function setMeta(key, value) {
  metaWrites = metaWrites.catch(() => {}).then(async () => {
    const { root } = await open();
    const meta = await readMeta();
    meta[key] = value;
    await writeFile(root, 'meta.json', new Blob([JSON.stringify(meta)]));
  });
  return metaWrites;
}

/** Removes every thumbnail and flag (the folder itself stays, empty). */
export async function clearAll() {
  const { root, thumbs } = await open();
  const names = [];
  for await (const name of thumbs.keys()) names.push(name);
  for (const name of names) await removeIfAny(thumbs, name);
  await removeIfAny(root, 'meta.json');
}

/** Number of records and bytes of thumbnails. */
export async function usage() {
  const all = await allThumbs();
  return { count: all.length, bytes: all.reduce((s, r) => s + (r.blob?.size ?? 0), 0) };
}
