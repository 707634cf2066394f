// The demo's shared state: what the page shows is drawn from `ui`; the modules that act
// (actions.js, camera.js, app.js) change it.

export const MODEL_NAME = 'demo';
// No adapters/activated: the library's default structure follows the number of photos.
export const OPTIONS = { encoderUrl: 'weights/efficientnet-lite0-f16.safetensors' };
export const MAX_FILE_BYTES = 40 * 1024 * 1024; // refuse bigger files outright
export const LARGE_SIDE = 4096; // the engine scales longer sides above this down before encoding
export const MIN_SIDE = 16; // the encoder's shortest side
/** Ends the name of a sample photo's example (its thumbnail's name says it is one). */
export const SAMPLE_SUFFIX = ' (sample)';
export const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|avif|heic|heif|tiff?|ico|svg)$/i;

export const ui = {
  net: null,
  samples: null, // { about, photos: [{ file, label, heldOut, author, license, source, changes, blob, url }] }
  thumbs: new Map(), // example id → { url, label, name, burst? }
  selected: null, // class that new photos go to
  lit: new Set(), // adapters retrained by the last erase
  hover: new Set(),
  busy: null, // what runs now (string) or null
  everTrained: false,
  sw: { active: false, why: '' },
  live: null, // live camera prediction state
  collectCamera: null,
  burst: null, // the webcam burst being recorded (hold to record)
  lastReport: null,
  receipts: [], // deletion receipts of this session's erases, oldest first (the download)
};

/** The page's phase as `body[data-state]` (loading, ready, busy, failed): the tests wait on it. */
export const state = (s) => { document.body.dataset.state = s; };
