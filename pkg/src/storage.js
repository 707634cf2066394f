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
// other holds a whole model. A load after such a crash completes the save (`completeSlots`).
//
// Off a Worker (the `worker: false` engine) the sync handle does not exist; `createWritable()`
// replaces a file atomically instead (the old file is deleted, not overwritten — its bytes stay
// only in the disk's free space, like any deleted file).
//
// Slot file: u32 magic "LGNS", u32 format, f64 generation, f64 savedAt, u32 meta length,
// u32 snapshot length, 32 bytes SHA-256(meta ‖ snapshot), 16 bytes lineage (format 2), then
// meta (JSON) and the snapshot. Format 1 (no lineage, 64-byte header) is still read.
//
// Why a lineage: an instance knows the saved model it is bound to as { lineage, generation }.
// The generation alone restarts at 1 once a model is deleted, so a stale instance could take a
// new model of the same name for the one it loaded, and write a forgotten photo back. The
// lineage is random, made when a name is first saved, and kept by every later save.

import { StorageError } from './errors.js';
import { checkModelName } from './names.js';

const DIR = 'legonet-models';
const SLOTS = ['a', 'b'];
const MAGIC = 0x534e474c; // "LGNS" little-endian
const FORMAT = 2;
const HEADERS = { 1: 64, 2: 80 }; // header bytes by format
const HEADER = HEADERS[FORMAT];
const LINEAGE_AT = 64;
const WEIGHTS_CACHE = 'legonet-weights-v1';
const LEGACY_DB = 'legonet'; // IndexedDB of versions before OPFS: dropped, so its residue goes too

function wrap(e, what) {
  if (typeof e?.code === 'string') return e; // a StorageError, or the engine's own (a forget's UNKNOWN_ID)
  if (e?.name === 'QuotaExceededError') return new StorageError('QUOTA_EXCEEDED', `${what}: storage quota exceeded`);
  return new StorageError('STORAGE', `${what}: ${e?.message ?? e}`);
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function fileStem(name) {
  return hex(new TextEncoder().encode(checkModelName(name)));
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
  if (bytes.length < 8) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const header = HEADERS[v.getUint32(4, true)];
  if (v.getUint32(0, true) !== MAGIC || !header || bytes.length < header) return null;
  const metaLen = v.getUint32(24, true);
  const snapshotLen = v.getUint32(28, true);
  if (header + metaLen + snapshotLen !== size) return null;
  const lineage = header > LINEAGE_AT ? hex(bytes.subarray(LINEAGE_AT, header)) : '';
  return { header, lineage, generation: v.getFloat64(8, true), savedAt: v.getFloat64(16, true), metaLen, snapshotLen };
}

const parseHeader = (bytes) => parseHeaderOf(bytes, bytes.length);

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

async function buildSlot(snapshot, meta, { lineage, generation }, savedAt) {
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
  out.set(lineage.match(/../g).map((p) => parseInt(p, 16)), LINEAGE_AT);
  return out;
}

/** A slot's record if its header is valid and its SHA-256 matches, else null. */
async function decodeSlot(bytes) {
  const h = parseHeader(bytes);
  if (!h) return null;
  const digest = await sha256(bytes.subarray(h.header));
  if (hex(digest) !== hex(bytes.subarray(32, 64))) return null;
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(h.header, h.header + h.metaLen)));
  const snapshot = bytes.slice(h.header + h.metaLen);
  return { snapshot, meta, savedAt: h.savedAt, bytes: h.snapshotLen, token: { lineage: h.lineage, generation: h.generation } };
}

/** Which saved state of a name an instance holds: its lineage and generation. */
const sameToken = (a, b) => !!a && !!b && a.lineage === b.lineage && a.generation === b.generation;

const newLineage = () => hex(crypto.getRandomValues(new Uint8Array(HEADER - LINEAGE_AT)));

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
    return parseHeaderOf(head, file.size);
  }));
}

/** Index in SLOTS of the slot holding the newest complete copy; b (1) on a tie or when neither
 *  does, so that a save then writes a first. */
const newerSlot = (headers) => (headers[0] && (!headers[1] || headers[0].generation > headers[1].generation) ? 0 : 1);

/** The newest complete slot's header of `headers`, or null. */
const newestOf = (headers) => headers.filter(Boolean).sort((x, y) => y.generation - x.generation)[0] ?? null;

/** Runs `fn` holding the locks of every name in `names`, taken in sorted order (no deadlock). */
function withLocks(names, fn) {
  const [first, ...rest] = [...new Set(names)].sort();
  return first === undefined ? fn() : withLock(first, () => withLocks(rest, fn));
}

/** Refuses with STALE_MODEL unless `newest`, the header of `name`'s newest saved state, is `known`. */
function refuseUnless(name, newest, known) {
  if (!sameToken(newest, known)) {
    throw new StorageError('STALE_MODEL', newest
      ? `"${name}" was saved by another tab since this one loaded or saved it; load it again`
      : `"${name}" was deleted since this instance loaded or saved it; load or save a current model`);
  }
  return newest;
}

/** `refuseUnless` on what is stored now (call it under the name's lock). */
async function checkCurrent(dir, name, known) {
  return refuseUnless(name, newestOf(await slotHeaders(dir, fileStem(name))), known);
}

/**
 * Saves the snapshot that `produce()` returns under `name`, replacing any previous copy; resolves
 * to the new state's token `{ lineage, generation }`.
 *
 * `known`: the token of `name` this caller last loaded or saved (undefined if it never did). If
 * the stored state is another one — another tab forgot a photo and saved, or deleted the model —
 * the save is refused with `STALE_MODEL` before `produce` runs, so a caller can make its change
 * inside `produce` and have it refused, untouched, when stale. `bound`: `{ name, token }` of the
 * saved model the caller's state came from, when it saves under another name: it must be current
 * too, or a stale instance could write a forgotten photo back under a new name. Everything is
 * checked and written under the names' locks (every tab and worker of the origin).
 *
 * When the write fails after the first slot is complete, that slot holds the new state: the
 * error carries its `token`, which the caller must take as known (its state is now saved).
 */
export async function saveModel(name, produce, meta, known, bound) {
  const what = `saving "${name}"`;
  try {
    const stem = fileStem(name);
    const dir = await modelsDir();
    const others = bound && bound.name !== name ? [bound.name] : [];
    return await withLocks([name, ...others], async () => {
      for (const other of others) await checkCurrent(dir, other, bound.token);
      const headers = await slotHeaders(dir, stem);
      const stored = known === undefined ? newestOf(headers) : refuseUnless(name, newestOf(headers), known);
      const token = { lineage: stored?.lineage || newLineage(), generation: (stored?.generation ?? 0) + 1 };
      let snapshot;
      try {
        snapshot = await produce();
      } catch (e) {
        throw new Produced(e); // the caller's own failure, not the disk's: passed on as it is
      }
      let bytes;
      try {
        bytes = await buildSlot(snapshot, meta, token, Date.now());
      } finally {
        snapshot.fill(0); // holds every encoding: not left for the garbage collector to find
      }
      // The slot not holding the newest copy first: until it is complete, the other one is.
      const newer = newerSlot(headers);
      const [fresh, older] = [`${stem}.${SLOTS[1 - newer]}`, `${stem}.${SLOTS[newer]}`];
      let written = false;
      try {
        await writeSlot(dir, fresh, bytes);
        written = true;
        await writeSlot(dir, older, bytes);
      } catch (e) {
        const err = wrap(e, what);
        if (written) {
          // The new copy is saved, in one slot; the other may still hold the state before (a
          // forgotten photo, say): it is made unloadable if the file can be opened at all.
          await invalidateSlot(dir, older).catch(() => {});
          err.token = token;
        }
        throw err;
      } finally {
        bytes.fill(0);
      }
      return token;
    });
  } catch (e) {
    if (e instanceof Produced) throw e.cause;
    throw wrap(e, what);
  }
}

/** A failure of `saveModel`'s `produce`, carried through its storage error handling untouched. */
class Produced {
  constructor(cause) { this.cause = cause; }
}

/** Makes a slot unloadable: its header zeroed in place (its payload is overwritten by the next
 *  save), or, without in-place writes (`worker: false`), the file removed. */
async function invalidateSlot(dir, fileName) {
  const handle = await fileIfAny(dir, fileName);
  if (!handle) return;
  if (!syncHandles) { await dir.removeEntry(fileName); return; } // no in-place write here: the file goes
  const h = await handle.createSyncAccessHandle();
  try {
    zeroFill(h, 0, Math.min(HEADER, h.getSize()));
    h.flush();
  } finally {
    h.close();
  }
}

/** Refuses with STALE_MODEL unless `name`'s saved state is still `token` (see saveModel). */
export async function checkSaved(name, token) {
  try {
    const dir = await modelsDir();
    await withLock(name, () => checkCurrent(dir, name, token));
  } catch (e) {
    throw wrap(e, `checking "${name}"`);
  }
}

/** After a save that did not finish (a crash between the two slot writes, a failed second
 *  write), the other slot may still hold an older state, a forgotten photo's encoding with it,
 *  until the next save. A load completes that save: every slot file that differs from the copy
 *  it loads is overwritten with it (same token, so no instance becomes stale). Best effort: the
 *  load has what it came for, and the next save overwrites the slot anyway. */
async function completeSlots(dir, files, newest) {
  for (const { fileName, bytes, valid } of files) {
    // A valid slot whose header (token and the payload's SHA-256) is the copy's holds the copy.
    if (!bytes || (valid && sameBytes(bytes.subarray(0, HEADER), newest.subarray(0, HEADER)))) continue;
    try { await writeSlot(dir, fileName, newest); } catch { /* left for the next save */ }
  }
}

const sameBytes = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);

/** Loads the snapshot saved under `name` (the newest complete slot), or throws `NOT_FOUND`:
 *  `{ snapshot, meta, savedAt, bytes, token }`. */
export async function loadModel(name) {
  const what = `loading "${name}"`;
  let record;
  try {
    const stem = fileStem(name);
    const dir = await modelsDir();
    record = await withLock(name, async () => {
      const files = [];
      let best = null;
      for (const s of SLOTS) {
        const handle = await fileIfAny(dir, `${stem}.${s}`);
        const bytes = handle ? await readAll(handle) : null;
        const r = bytes ? await decodeSlot(bytes) : null;
        files.push({ fileName: `${stem}.${s}`, bytes, valid: r !== null });
        if (r && (!best || r.token.generation > best.record.token.generation)) {
          best?.record.snapshot.fill(0);
          best = { record: r, bytes };
        } else r?.snapshot.fill(0);
      }
      try {
        if (best) await completeSlots(dir, files, best.bytes);
      } finally {
        for (const f of files) f.bytes?.fill(0);
      }
      return best?.record ?? null;
    });
  } catch (e) {
    throw wrap(e, what);
  }
  if (!record) throw new StorageError('NOT_FOUND', `no saved model named "${name}"`);
  return record;
}

/** Deletes a saved model, zero-filling its files first (no error if absent); the older slot
 *  first, so a delete that fails half way never leaves only the older copy loadable. Resolves
 *  to whether the deleted copy was `known` (a caller's token: see saveModel). */
export async function deleteModel(name, known) {
  try {
    const stem = fileStem(name);
    const dir = await modelsDir();
    return await withLock(name, async () => {
      const headers = await slotHeaders(dir, stem);
      const current = sameToken(newestOf(headers), known);
      const newer = newerSlot(headers);
      for (const s of [SLOTS[1 - newer], SLOTS[newer]]) await wipeSlot(dir, `${stem}.${s}`);
      return current;
    });
  } catch (e) {
    throw wrap(e, `deleting "${name}"`);
  }
}

/** The model name a slot file belongs to, or null when the file is no slot. */
function slotName(fileName) {
  const m = fileName.match(/^([0-9a-f]+)\.[ab]$/);
  const name = m && nameOf(m[1]);
  // A stem that is not the UTF-8 of its own name (no save writes one) is no slot of ours.
  return name !== null && hex(new TextEncoder().encode(name)) === m[1] ? name : null;
}

async function savedNames(dir) {
  const names = new Set();
  for await (const fileName of dir.keys()) {
    const name = slotName(fileName);
    if (name !== null) names.add(name);
  }
  return [...names].sort();
}

/** Names and sizes of saved models. */
export async function listModels() {
  try {
    const dir = await modelsDir();
    const out = [];
    for (const name of await savedNames(dir)) {
      const newest = newestOf(await withLock(name, () => slotHeaders(dir, fileStem(name))));
      if (newest) out.push({ name, bytes: newest.snapshotLen, savedAt: newest.savedAt });
    }
    return out;
  } catch (e) {
    throw wrap(e, 'listing models');
  }
}

/** Removes every saved model (zero-filled first) and the cached weights. For each model deleted,
 *  `deleted(name, current)` is told whether the copy was the one `known(name)` names, worked out
 *  under its lock like deleteModel's answer, so a clear that fails part way has already
 *  reported the models it removed. */
export async function clearAll(known = () => undefined, deleted = () => {}) {
  try {
    const dir = await modelsDir();
    for (const name of await savedNames(dir)) deleted(name, await deleteModel(name, known(name)));
    // Anything else in the folder that is not a slot (a slot here now was saved by another tab
    // since the names were listed: that save came after the clear, and is not removed unwiped).
    const rest = [];
    for await (const fileName of dir.keys()) if (slotName(fileName) === null) rest.push(fileName);
    for (const fileName of rest) await dir.removeEntry(fileName, { recursive: true });
    if (typeof caches !== 'undefined') await caches.delete(WEIGHTS_CACHE);
  } catch (e) {
    throw wrap(e, 'clearing storage');
  }
}

/**
 * The encoder weights: from the Cache API when present, else fetched. Resolves to
 * { bytes: Uint8Array, fromCache: boolean, keep(), drop() }: `keep` caches fetched bytes, to be
 * called once the engine has loaded them (an error page answered with 200 must not be served
 * from the cache ever after); `drop` removes a cached copy that did not load. `reload`: past
 * every cache, the HTTP cache and a service worker's included (one that honours `cache`).
 */
export async function fetchWeights(url, { reload = false } = {}) {
  const cache = typeof caches !== 'undefined' ? await caches.open(WEIGHTS_CACHE).catch(() => null) : null;
  let response = cache && !reload ? await cache.match(url) : undefined;
  const fromCache = !!response;
  if (!response) {
    try {
      response = await fetch(url, reload ? { cache: 'reload' } : undefined);
    } catch (e) { // offline, refused, blocked by CORS
      throw new StorageError('NOT_FOUND', `encoder weights: ${url} could not be fetched (${e?.message ?? e})`);
    }
    if (!response.ok) throw new StorageError('NOT_FOUND', `encoder weights: ${url} answered ${response.status}`);
  }
  const fetched = fromCache ? null : response.clone();
  return {
    bytes: new Uint8Array(await response.arrayBuffer()),
    fromCache,
    // A full cache only costs a refetch later.
    keep: async () => { if (cache && fetched) await cache.put(url, fetched).catch(() => {}); },
    drop: async () => { if (cache) await cache.delete(url).catch(() => {}); },
  };
}
