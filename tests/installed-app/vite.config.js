// All a Vite app needs for legonet (pkg/README.md): nothing for `vite build`; for the dev server,
// both packages left out of dependency pre-bundling (see the README for why).
export default { optimizeDeps: { exclude: ['legonet', '@legonet/efficientnet-lite0'] } };
