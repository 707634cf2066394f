// The weights file ships next to this module; `new URL(…, import.meta.url)` is the pattern
// bundlers (Vite, webpack 5, Rollup) recognise to emit it as an asset (esbuild does not: copy the
// file beside the bundle, legonet's README says how), and it resolves as is when node_modules is
// served statically (import map). It is the half-precision copy:
// f16 storage (half the download), widened to f32 exactly when legonet loads it.
export const weightsUrl = new URL('./efficientnet-lite0-f16.safetensors', import.meta.url).href;

/** SHA-256 of the file: legonet's encoder id (`LegoNet#encoderId`), recorded by every model. */
export const sha256 = '6b7566eab8761bd6bb2225f708e87ff73976810d4395df8a12398529de663d9b';

/** Size of the file in bytes. */
export const bytes = 9410832;
