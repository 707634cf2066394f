// What the encoder test page and the peers' benchmark page both report about a run: how close
// an encoding is to the oracle's, and which WebGPU adapter the browser offers.

/** Cosine similarity of two equal-length vectors. */
export function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

/** The largest absolute difference between two equal-length vectors. */
export const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** The adapter `navigator.gpu` gives (null without WebGPU): a software one reads as such. */
export async function adapterInfo() {
  if (!navigator.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
           isFallbackAdapter: adapter.isFallbackAdapter ?? info.isFallbackAdapter ?? null };
}
