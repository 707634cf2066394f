// What a Vite app needs for legonet (see pkg/README.md):
// - nothing for `vite build`: Vite bundles the engine Worker (`new URL('./worker.js', import.meta.url)`)
//   and emits the wasm (`new URL('legonet_bg.wasm', import.meta.url)`) as a hashed asset;
// - for `vite` (dev), leave legonet out of dependency pre-bundling: Vite 7's optimizer breaks the
//   worker's URL (Vite 8's keeps it; excluding is harmless there);
// - this app links the package from ../../pkg ("file:" dependency: a symlink outside the project
//   root), so the dev server must be allowed to serve that folder. An app that installed legonet
//   from the registry (a copy under node_modules/) needs no fs.allow.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  optimizeDeps: { exclude: ['legonet'] },
  server: {
    fs: { allow: [fileURLToPath(new URL('.', import.meta.url)), fileURLToPath(new URL('../../pkg', import.meta.url))] },
  },
});
