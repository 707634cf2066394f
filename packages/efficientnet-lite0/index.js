// The weights file ships next to this module; `new URL(…, import.meta.url)` is the pattern
// bundlers (Vite, webpack 5, Rollup, esbuild) recognise to emit it as an asset, and it resolves
// as is when node_modules is served statically (import map).
export const weightsUrl = new URL('./efficientnet-lite0.safetensors', import.meta.url).href;

/** SHA-256 of the file: legonet's encoder id (`LegoNet#encoderId`), recorded by every model. */
export const sha256 = '2082e6a9f100f932620ce88e6819bc6ba7b4caebd0907fca11fe991acaa35b8f';

/** Size of the file in bytes. */
export const bytes = 18798952;
