// Counts the network requests of this page and of the engine's Worker. Two sources:
// - the service worker (sw.js) reports every request it sees, the Worker's included;
// - PerformanceObserver ('resource' entries) sees the page's own requests, even without a
//   service worker (first visit before it takes control, file servers without HTTPS, …).
// Requests are counted from `markReady()` on; blob: and data: URLs never touch the network.

const local = (u) => u.startsWith('blob:') || u.startsWith('data:');

export function createCounter(onChange) {
  const startup = { sw: 0, perf: 0, fromCache: 0 };
  const after = { sw: [], perf: [] };
  let readyAt = Infinity; // Date.now() at markReady
  let readyPerf = Infinity; // performance.now() at markReady
  let swActive = false;

  const changed = () => onChange?.(state());

  function state() {
    const sw = after.sw.length;
    const perf = after.perf.length;
    const list = sw >= perf ? after.sw : after.perf;
    return {
      count: Math.max(sw, perf),
      list: list.map((r) => r.url),
      source: swActive ? 'service worker + PerformanceObserver' : 'PerformanceObserver (this page only)',
      swActive,
      startup: { ...startup },
      ready: readyAt !== Infinity,
    };
  }

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', (e) => {
      const m = e.data;
      if (m?.type !== 'legonet-demo:request' || local(m.url)) return;
      swActive = true;
      if (m.at >= readyAt) after.sw.push(m);
      else { startup.sw += 1; if (m.from === 'cache') startup.fromCache += 1; }
      changed();
    });
    navigator.serviceWorker.startMessages?.();
  }

  const seen = (entry) => {
    if (local(entry.name)) return;
    if (entry.startTime >= readyPerf) after.perf.push({ url: entry.name });
    else startup.perf += 1;
  };
  try {
    const po = new PerformanceObserver((list) => { list.getEntries().forEach(seen); changed(); });
    po.observe({ type: 'resource', buffered: true });
  } catch {
    /* very old browser: the service worker is the only source */
  }

  return {
    markReady() {
      readyAt = Date.now();
      readyPerf = performance.now();
      // Entries delivered later but started before ready belong to start-up.
      changed();
    },
    setServiceWorker(active) { swActive = swActive || active; changed(); },
    state,
  };
}
