// The demo's own IndexedDB store. The library keeps encodings, never photos; to show a gallery
// after a reload the demo keeps a small JPEG thumbnail per example, keyed by the example's id,
// and deletes it whenever that example is forgotten. `meta` holds a few flags (is a model saved).

const DB = 'legonet-demo';
const VERSION = 1;
let dbp;

function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

function open() {
  dbp ??= new Promise((resolve, reject) => {
    const o = indexedDB.open(DB, VERSION);
    o.onupgradeneeded = () => {
      o.result.createObjectStore('thumbs', { keyPath: 'id' });
      o.result.createObjectStore('meta');
    };
    o.onsuccess = () => resolve(o.result);
    o.onerror = () => reject(o.error);
  });
  return dbp;
}

async function tx(stores, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(stores, mode);
    let out;
    Promise.resolve(fn(t)).then((v) => { out = v; }, (e) => { try { t.abort(); } catch { /* done */ } reject(e); });
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error ?? new DOMException('aborted', 'AbortError'));
  });
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

export function putThumbs(records) {
  return tx(['thumbs'], 'readwrite', (t) => { for (const r of records) t.objectStore('thumbs').put(r); });
}

export function deleteThumbs(ids) {
  return tx(['thumbs'], 'readwrite', (t) => { for (const id of ids) t.objectStore('thumbs').delete(id); });
}

export function allThumbs() {
  return tx(['thumbs'], 'readonly', (t) => req(t.objectStore('thumbs').getAll()));
}

export function getMeta(key) {
  return tx(['meta'], 'readonly', (t) => req(t.objectStore('meta').get(key)));
}

export function setMeta(key, value) {
  return tx(['meta'], 'readwrite', (t) => { t.objectStore('meta').put(value, key); });
}

/** Empties both stores (the database itself stays, empty). */
export function clearAll() {
  return tx(['thumbs', 'meta'], 'readwrite', (t) => { t.objectStore('thumbs').clear(); t.objectStore('meta').clear(); });
}

/** Number of records and bytes of thumbnails. */
export async function usage() {
  const all = await allThumbs();
  return { count: all.length, bytes: all.reduce((s, r) => s + (r.blob?.size ?? 0), 0) };
}
