// Static server for the demo and the browser tests: the repo root as a static site on 127.0.0.1.
// `node tools/serve.mjs [port]` (default 8080). `sirv` sets correct MIME types (application/wasm).
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Starts the server; resolves to { url, close() }. Port 0 picks a free port. `mounts` maps URL
 * prefixes to extra folders (the tests mount the shared fixtures this way); `log` collects requests.
 */
export function serve(port = 8080, host = '127.0.0.1', mounts = {}, { log } = {}) {
  const files = sirv(root, { dev: true, dotfiles: false });
  const extra = Object.entries(mounts).map(([prefix, dir]) => [prefix, sirv(dir, { dev: true })]);
  const server = http.createServer((req, res) => {
    // `log` (an array) gets every request as the server saw it: workers' ones included, whatever
    // the browser's automation protocol reports.
    if (log) { const url = req.url; res.on('finish', () => log.push({ url, status: res.statusCode, at: Date.now() })); }
    const notFound = () => { res.statusCode = 404; res.end('not found'); };
    for (const [prefix, handler] of extra) {
      if (req.url.startsWith(prefix + '/')) {
        req.url = req.url.slice(prefix.length);
        return handler(req, res, notFound);
      }
    }
    files(req, res, notFound);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({ url: `http://${host}:${p}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const { url } = await serve(port);
  console.log(`legonet demo: ${url}/  (Ctrl+C to stop)`);
}
