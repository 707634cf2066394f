// Service worker of the legonet demo (next to index.html so that it controls it, at the site's
// root or under a sub-path: every URL here is relative to its scope).
//
// 1. Offline: on install it caches the page, the package (pkg/src, pkg/wasm), the weights and the
//    sample photos; later visits work with no network. Code — the page, the package's JS, the
//    wasm and its glue — is served network-first, falling back to the cache offline: a wasm must
//    come from the same build as its glue and the JS that calls it, so none of them is served
//    from the cache while the network answers. The weights and the sample photos cache-first.
// 2. Privacy made visible: it sees every request of the page AND of the engine's Worker, and
//    reports each one to the page that made it (`{ type: 'legonet-demo:request', url, from, at }`),
//    which counts those made after the app was ready. Another tab's requests are not this one's.
const VERSION = 'legonet-demo-v6';

const CODE = [
  './', 'index.html', 'www/app.js', 'www/demo-state.js', 'www/render.js', 'www/actions.js', 'www/camera.js',
  'www/files.js', 'www/netcount.js', 'www/thumbs.js', 'www/ui.js', 'www/style.css',
  'pkg/src/index.js', 'pkg/src/errors.js', 'pkg/src/rpc.js', 'pkg/src/names.js', 'pkg/src/storage.js', 'pkg/src/worker.js',
  'pkg/src/image.js', 'pkg/src/pool.js', 'pkg/src/encoder-worker.js',
  'pkg/wasm/legonet.js', 'pkg/wasm/legonet_bg.wasm',
  // Not pkg/wasm/legonet_webgpu*: the WebGPU wasm is fetched (and then cached, below) only where
  // the engine may run on WebGPU, never by every visitor.
];
const DATA = ['weights/efficientnet-lite0-f16.safetensors', 'www/samples/samples.json'];

const url = (p) => new URL(p, self.registration.scope).href;

async function tell(message) {
  for (const c of await self.clients.matchAll({ type: 'window', includeUncontrolled: true })) c.postMessage(message);
}

// A Worker's requests belong to the page that started it (through any Workers between): learnt
// from the fetch of each Worker's script, whose client is its creator. Chromium sends a Worker's
// Worker's requests with no client id: they go to whoever last started a Worker from the script
// that makes them (their referrer).
const creators = new Map(); // Worker client id → id of the client that created it
const startedBy = new Map(); // Worker script URL → id of the client that last started one from it

/** Reports `message` to the tab behind the request of `event`. A request whose tab is unknown (a
 *  blob: Worker's, whose script was never fetched, or any after this service worker restarted)
 *  goes to every tab: a counter may count too much, never too little. */
async function tellOwner(event, message) {
  const navigation = event.request.mode === 'navigate';
  let id = navigation ? event.resultingClientId : event.clientId || startedBy.get(event.request.referrer);
  for (let hops = 0; creators.has(id) && hops < 8; hops += 1) id = creators.get(id);
  const client = id ? await self.clients.get(id) : undefined;
  if (client?.type === 'window') client.postMessage(message);
  else if (!navigation) await tell(message); // a navigation is the start-up of its own page only
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    let photos = [];
    try {
      const res = await fetch(url('www/samples/samples.json'), { cache: 'no-cache' });
      photos = (await res.json()).photos.map((p) => `www/samples/${p.file}`);
    } catch { /* the page still works; the photos are cached when first used */ }
    const all = [...CODE, ...DATA, ...photos];
    let done = 0;
    // One file failing (say, a wasm not built yet) must not keep the rest from working offline.
    await Promise.all(all.map(async (p) => {
      try {
        const res = await fetch(url(p), { cache: 'no-cache' });
        if (res.ok) await cache.put(url(p), res);
      } catch { /* offline during install: nothing to cache */ }
      done += 1;
      tell({ type: 'legonet-demo:install', done, total: all.length });
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith('legonet-demo-') && key !== VERSION) await caches.delete(key);
    await self.clients.claim();
  })());
});

// Scope-relative: the demo may live under a sub-path (`./dev dist` on GitHub Pages: /legonet/).
const isData = (u) => u.pathname.endsWith('.safetensors') || u.href.startsWith(url('www/samples/'));

async function cacheFirst(request) {
  const cache = await caches.open(VERSION);
  const hit = await cache.match(request, { ignoreSearch: true });
  if (hit) return { response: hit, from: 'cache' };
  const response = await fetch(request);
  if (response.ok && request.method === 'GET') await cache.put(request, response.clone()).catch(() => {});
  return { response, from: 'network' };
}

async function networkFirst(request) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request, { cache: 'no-cache' });
    if (response.ok && request.method === 'GET') await cache.put(request, response.clone()).catch(() => {});
    return { response, from: 'network' };
  } catch (e) {
    const hit = await cache.match(request, { ignoreSearch: true });
    if (hit) return { response: hit, from: 'cache' };
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const u = new URL(request.url);
  const sameOrigin = u.origin === self.location.origin;
  if (request.destination.endsWith('worker') && event.clientId) {
    if (event.resultingClientId) creators.set(event.resultingClientId, event.clientId);
    startedBy.set(request.url, event.clientId);
  }
  const work = (async () => {
    if (!sameOrigin || request.method !== 'GET') return { response: await fetch(request), from: 'network' };
    // A reload (the package refetching weights that did not load) goes past this cache too.
    if (isData(u)) return request.cache === 'reload' ? networkFirst(request) : cacheFirst(request);
    return networkFirst(request);
  })();
  event.respondWith(work.then((r) => r.response));
  const report = (from) => tellOwner(event, { type: 'legonet-demo:request', url: request.url, method: request.method, from, at: Date.now() });
  event.waitUntil(work.then((r) => report(r.from), () => report('failed')));
});
