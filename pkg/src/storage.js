// Persistence, used inside the worker: IndexedDB keeps saved models (one record per name, the
// whole snapshot — model, samples' ids, labels and encodings — written in ONE transaction, so a
// crash mid-save leaves the previous copy intact); the Cache API keeps the encoder weights so
// they are fetched once.

import { StorageError } from './errors.js';

const DB_NAME = 'legonet';
const DB_VERSION = 1;
const MODELS = 'models';
const WEIGHTS_CACHE = 'legonet-weights-v1';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function wrap(e, what) {
  if (e instanceof StorageError) return e;
  if (e?.name === 'QuotaExceededError') return new StorageError('QUOTA_EXCEEDED', `${what}: storage quota exceeded`);
  return new StorageError('STORAGE', `${what}: ${e?.message ?? e}`);
}

let dbPromise;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, DB_VERSION);
    open.onupgradeneeded = () => open.result.createObjectStore(MODELS);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(wrap(open.error, 'opening IndexedDB'));
  });
  return dbPromise;
}

/** Runs `fn(store)` in one transaction and resolves when the transaction has committed. */
async function transact(mode, fn, what) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    let result;
    let tx;
    try {
      tx = conn.transaction(MODELS, mode, { durability: 'strict' });
    } catch (e) { reject(wrap(e, what)); return; }
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(wrap(tx.error, what));
    tx.onabort = () => reject(wrap(tx.error ?? 'aborted', what));
    Promise.resolve(fn(tx.objectStore(MODELS))).then((r) => { result = r; }, (e) => { tx.abort(); reject(wrap(e, what)); });
  });
}

/**
 * Saves a snapshot under `name`, replacing any previous copy atomically; resolves to the new
 * record's generation. `known`: the generation this caller last loaded or saved under `name`
 * (undefined if it never did). If another tab has saved since — a forget there, say — the
 * stored generation has moved on and the save is refused with `STALE_MODEL`, checked inside the
 * same transaction, so a tab holding old state can never write a forgotten photo back.
 */
export function saveModel(name, snapshot, meta, known) {
  return transact('readwrite', async (s) => {
    const current = await request(s.get(name));
    const stored = current?.generation ?? 0;
    if (current && known !== undefined && stored !== known) {
      throw new StorageError('STALE_MODEL', `"${name}" was saved by another tab since this one loaded or saved it; load it again`);
    }
    const generation = stored + 1;
    s.put({ snapshot, meta, savedAt: Date.now(), bytes: snapshot.byteLength, generation }, name);
    return generation;
  }, `saving "${name}"`);
}

/** Loads the snapshot saved under `name`, or throws `NOT_FOUND`. */
export async function loadModel(name) {
  const record = await transact('readonly', (s) => request(s.get(name)), `loading "${name}"`);
  if (!record) throw new StorageError('NOT_FOUND', `no saved model named "${name}"`);
  return record;
}

/** Deletes a saved model (no error if absent). */
export function deleteModel(name) {
  return transact('readwrite', (s) => { s.delete(name); }, `deleting "${name}"`);
}

/** Names and sizes of saved models. */
export async function listModels() {
  return transact('readonly', async (s) => {
    const [keys, values] = await Promise.all([request(s.getAllKeys()), request(s.getAll())]);
    return keys.map((name, i) => ({ name, bytes: values[i].bytes, savedAt: values[i].savedAt }));
  }, 'listing models');
}

/** Removes every saved model and the cached weights. */
export async function clearAll() {
  await transact('readwrite', (s) => { s.clear(); }, 'clearing storage');
  if (typeof caches !== 'undefined') await caches.delete(WEIGHTS_CACHE);
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
