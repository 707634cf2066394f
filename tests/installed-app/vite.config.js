// All a Vite app needs for legonet (pkg/README.md): nothing for `vite build`; for the dev server,
// legonet left out of dependency pre-bundling (see the README for why). The weights package needs
// no entry: imported from an excluded package, Vite 8 serves it as is, and its
// `new URL('./efficientnet-lite0-f16.safetensors', import.meta.url)` stays next to the file (measured:
// the same result with it excluded too).
export default { optimizeDeps: { exclude: ['legonet'] } };
