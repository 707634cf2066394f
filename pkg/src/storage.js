// Persistence, used inside the engine: saved models live in the Origin Private File System
// (OPFS), the encoder weights in the Cache API (fetched once).
//
// Why OPFS and not IndexedDB: deleting an IndexedDB record does not erase its bytes — Chromium's
// LevelDB keeps them in its log until a compaction that may never come, so a forgotten photo's
// encoding could be read back from the profile. Here every saved model is two slot files,
// `<name>.a` and `<name>.b`, overwritten in place through a `FileSystemSyncAccessHandle` (in a
// Worker): a save writes the new model into one slot, then over the other, so once it returns no
// file holds the old bytes; a shrinking file is zero-filled before it is truncated, and a delete
// zero-fills both slots before removing them.
//
// Why two slots: a crash (Worker terminated, tab closed) in the middle of a save must leave the
// old or the new model loadable, never neither. A slot's header is zeroed before its payload is
// written and written back last, each step flushed, so a slot with a valid header holds a
// complete payload (its SHA-256 is checked on load as well); while one slot is being written the
// other holds a whole model.
//
// Off a Worker (the `worker: false` engine) the sync handle does not exist; `createWritable()`
// replaces a file atomically instead (the old file is deleted, not overwritten — its bytes stay
// only in the disk's free space, like any deleted file).
//
// Slot file: u32 magic "LGNS", u32 format, f64 generation, f64 savedAt, u32 meta length,
// u32 snapshot length, 32 bytes SHA-256(meta ‖ snapshot), then meta (JSON) and the snapshot.

import { StorageError } from './errors.js';

const DIR = 'legonet-models';
const SLOTS = ['a', 'b'];
const MAGIC = 0x534e474c; // "LGNS" little-endian
const FORMAT = 1;
const HEADER = 64;
const MAX_NAME_BYTES = 100; // hex-encoded in the file name, which OPFS limits in length
const WEIGHTS_CACHE = 'legonet-weights-v1';
const LEGACY_DB = 'legonet'; // IndexedDB of versions before OPFS: dropped, so its residue goes too

function wrap(e, what) {
  if (e instanceof StorageError) return e;
  if (e?.name === 'QuotaExceededError') return new StorageError('QUOTA_EXCEEDED', `${what}: storage quota exceeded`);
  return new StorageError('STORAGE', `${what}: ${e?.message ?? e}`);
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function fileStem(name) {
  if (typeof name !== 'string' || name.length === 0) throw new StorageError('STORAGE', 'a saved model needs a non-empty name');
  const utf8 = new TextEncoder().encode(name);
  if (utf8.length > MAX_NAME_BYTES) throw new StorageError('STORAGE', `model names are limited to ${MAX_NAME_BYTES} UTF-8 bytes`);
  return hex(utf8);
}

function nameOf(stem) {
  const pairs = stem.match(/^(?:[0-9a-f]{2})+$/) ? stem.match(/../g) : null;
  return pairs ? new TextDecoder().decode(new Uint8Array(pairs.map((p) => parseInt(p, 16)))) : null;
}

let legacyDropped = false;
async function modelsDir() {
  if (!legacyDropped && typeof indexedDB !== 'undefined') {
    legacyDropped = true;
    try { indexedDB.deleteDatabase(LEGACY_DB); } catch { /* not available here: nothing to drop */ }
  }
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) {
    throw new StorageError('STORAGE', 'this browser has no Origin Private File System (navigator.storage.getDirectory)');
  }
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIR, { create: true });
}

/** Runs `fn` holding this origin's lock on `name` (every tab and worker), so saves never interleave. */
function withLock(name, fn) {
  if (typeof navigator !== 'undefined' && navigator.locks?.request) {
    return navigator.locks.request(`legonet-model:${name}`, fn);
  }
  return fn();
}

async function fileIfAny(dir, fileName) {
  try {
    return await dir.getFileHandle(fileName);
  } catch (e) {
    if (e?.name === 'NotFoundError' || e?.name === 'TypeMismatchError') return null;
    throw e;
  }
}

async function readAll(handle) {
  return new Uint8Array(await (await handle.getFile()).arrayBuffer());
}

/** The header of a slot (its first bytes, the file `size` long), or null when not a complete slot. */
function parseHeaderOf(bytes, size) {
  if (bytes.length < HEADER) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  if (v.getUint32(0, true) !== MAGIC || v.getUint32(4, true) !== FORMAT) return null;
  const metaLen = v.getUint32(24, true);
  const snapshotLen = v.getUint32(28, true);
  if (HEADER + metaLen + snapshotLen !== size) return null;
  return { generation: v.getFloat64(8, true), savedAt: v.getFloat64(16, true), metaLen, snapshotLen };
}

const parseHeader = (bytes) => parseHeaderOf(bytes, bytes.length);

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

async function buildSlot(snapshot, meta, generation, savedAt) {
  const metaBytes = new TextEncoder().encode(JSON.stringify(meta ?? {}));
  const out = new Uint8Array(HEADER + metaBytes.length + snapshot.byteLength);
  out.set(metaBytes, HEADER);
  out.set(snapshot, HEADER + metaBytes.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, FORMAT, true);
  v.setFloat64(8, generation, true);
  v.setFloat64(16, savedAt, true);
  v.setUint32(24, metaBytes.length, true);
  v.setUint32(28, snapshot.byteLength, true);
  out.set(await sha256(out.subarray(HEADER)), 32);
  return out;
}

/** A slot's record if its header is valid and its SHA-256 matches, else null. */
async function decodeSlot(bytes) {
  const h = parseHeader(bytes);
  if (!h) return null;
  const digest = await sha256(bytes.subarray(HEADER));
  if (hex(digest) !== hex(bytes.subarray(32, HEADER))) return null;
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER, HEADER + h.metaLen)));
  const snapshot = bytes.slice(HEADER + h.metaLen);
  return { snapshot, meta, savedAt: h.savedAt, bytes: h.snapshotLen, generation: h.generation };
}

const syncHandles = typeof FileSystemFileHandle !== 'undefined'
  && typeof FileSystemFileHandle.prototype.createSyncAccessHandle === 'function'
  && typeof WorkerGlobalScope !== 'undefined';

const ZEROS = new Uint8Array(1 << 20);
function zeroFill(h, from, to) {
  for (let at = from; at < to; at += ZEROS.length) h.write(ZEROS.subarray(0, Math.min(ZEROS.length, to - at)), { at });
}

/** Overwrites the slot file in place with `bytes` (header last), leaving nothing of what it held. */
async function writeSlot(dir, fileName, bytes) {
  const handle = await dir.getFileHandle(fileName, { create: true });
  if (!syncHandles) {
    const w = await handle.createWritable({ keepExistingData: false });
    await w.write(bytes);
    await w.close();
    return;
  }
  const h = await handle.createSyncAccessHandle();
  try {
    const old = h.getSize();
    zeroFill(h, 0, Math.min(HEADER, old)); // invalid until the header is written back, last
    h.flush();
    h.write(bytes.subarray(HEADER), { at: HEADER });
    zeroFill(h, bytes.length, old);
    h.flush();
    h.truncate(bytes.length);
    h.write(bytes.subarray(0, HEADER), { at: 0 });
    h.flush();
  } finally {
    h.close();
  }
}

/** Zero-fills a slot file (in place where the sync handle exists) and removes it. */
async function wipeSlot(dir, fileName) {
  const handle = await fileIfAny(dir, fileName);
  if (!handle) return;
  if (syncHandles) {
    const h = await handle.createSyncAccessHandle();
    try {
      zeroFill(h, 0, h.getSize());
      h.flush();
      h.truncate(0);
      h.flush();
    } finally {
      h.close();
    }
  }
  await dir.removeEntry(fileName);
}

/** Headers of both slots of `stem` (null where absent or incomplete). */
async function slotHeaders(dir, stem) {
  return Promise.all(SLOTS.map(async (s) => {
    const handle = await fileIfAny(dir, `${stem}.${s}`);
    if (!handle) return null;
    const file = await handle.getFile();
    // The header alone (and the length, to check it against the file's).
    const head = new Uint8Array(await file.slice(0, HEADER).arrayBuffer());
    return head.length === HEADER ? parseHeaderOf(head, file.size) : null;
  }));
}

/**
 * Saves a snapshot under `name`, replacing any previous copy; resolves to the new record's
 * generation. `known`: the generation this caller last loaded or saved under `name` (undefined
 * if it never did). If another tab has saved since — a forget there, say — the stored
 * generation has moved on and the save is refused with `STALE_MODEL`, checked under the same
 * lock as the write, so a tab holding old state can never write a forgotten photo back.
 */
export async function saveModel(name, snapshot, meta, known) {
  const what = `saving "${name}"`;
  try {
    const stem = fileStem(name);
    const dir = await modelsDir();
    return await withLock(name, async () => {
      const headers = await slotHeaders(dir, stem);
      const valid = headers.filter(Boolean);
      const stored = valid.length ? Math.max(...valid.map((h) => h.generation)) : 0;
      if (valid.length && known !== undefined && stored !== known) {
        throw new StorageError('STALE_MODEL', `"${name}" was saved by another tab since this one loaded or saved it; load it again`);
      }
      const generation = stored + 1;
      const bytes = await buildSlot(snapshot, meta, generation, Date.now());
      try {
        // The slot not holding the newest copy first: until it is complete, the other one is.
        const first = headers[0] && (!headers[1] || headers[0].generation > headers[1].generation) ? 1 : 0;
        await writeSlot(dir, `${stem}.${SLOTS[first]}`, bytes);
        await writeSlot(dir, `${stem}.${SLOTS[1 - first]}`, bytes);
      } finally {
        bytes.fill(0); // holds every encoding: not left for the garbage collector to find
      }
      return generation;
    });
  } catch (e) {
    throw wrap(e, what);
  }
}

/** Loads the snapshot saved under `name` (the newest complete slot), or throws `NOT_FOUND`. */
export async function loadModel(name) {
  const what = `loading "${name}"`;
  let record;
  try {
    const stem = fileStem(name);
    const dir = await modelsDir();
    record = await withLock(name, async () => {
      let best = null;
      for (const s of SLOTS) {
        const handle = await fileIfAny(dir, `${stem}.${s}`);
        const bytes = handle ? await readAll(handle) : null;
        const r = bytes ? await decodeSlot(bytes) : null;
        bytes?.fill(0);
        if (r && (!best || r.generation > best.generation)) { best?.snapshot.fill(0); best = r; } else r?.snapshot.fill(0);
      }
      return best;
    });
  } catch (e) {
    throw wrap(e, what);
  }
  if (!record) throw new StorageError('NOT_FOUND', `no saved model named "${name}"`);
  return record;
}

/** Deletes a saved model, zero-filling its files first (no error if absent). */
export async function deleteModel(name) {
  try {
    const stem = fileStem(name);
    const dir = await modelsDir();
    await withLock(name, async () => {
      for (const s of SLOTS) await wipeSlot(dir, `${stem}.${s}`);
    });
  } catch (e) {
    throw wrap(e, `deleting "${name}"`);
  }
}

async function savedNames(dir) {
  const names = new Set();
  for await (const fileName of dir.keys()) {
    const m = fileName.match(/^([0-9a-f]+)\.[ab]$/);
    const name = m && nameOf(m[1]);
    if (name !== null && name !== undefined) names.add(name);
  }
  return [...names].sort();
}

/** Names and sizes of saved models. */
export async function listModels() {
  try {
    const dir = await modelsDir();
    const out = [];
    for (const name of await savedNames(dir)) {
      const headers = await withLock(name, () => slotHeaders(dir, fileStem(name)));
      const newest = headers.filter(Boolean).sort((x, y) => y.generation - x.generation)[0];
      if (newest) out.push({ name, bytes: newest.snapshotLen, savedAt: newest.savedAt });
    }
    return out;
  } catch (e) {
    throw wrap(e, 'listing models');
  }
}

/** Removes every saved model (zero-filled first) and the cached weights. */
export async function clearAll() {
  try {
    const dir = await modelsDir();
    for (const name of await savedNames(dir)) await deleteModel(name);
    const rest = [];
    for await (const fileName of dir.keys()) rest.push(fileName);
    for (const fileName of rest) await dir.removeEntry(fileName, { recursive: true }); // anything not ours
    if (typeof caches !== 'undefined') await caches.delete(WEIGHTS_CACHE);
  } catch (e) {
    throw wrap(e, 'clearing storage');
  }
}

/**
 * The encoder weights: from the Cache API when present, else fetched once and cached.
 * Resolves to { bytes: Uint8Array, fromCache: boolean }.
 */
export async function fetchWeights(url) {
  const cache = typeof caches !== 'undefined' ? await caches.open(WEIGHTS_CACHE).catch(() => null) : null;
  let response = cache ? await cache.match(url) : undefined;
  const fromCache = !!response;
  if (!response) {
    response = await fetch(url);
    if (!response.ok) throw new StorageError('NOT_FOUND', `encoder weights: ${url} answered ${response.status}`);
    if (cache) await cache.put(url, response.clone()).catch(() => {}); // a full cache only costs a refetch later
  }
  return { bytes: new Uint8Array(await response.arrayBuffer()), fromCache };
}
