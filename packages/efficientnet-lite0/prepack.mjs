// `npm pack` / `npm publish` refuse a package whose weights are missing or not the declared
// ones: the file is copied in by the legonet repository's set-up (`./dev setup`), never committed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { sha256, bytes } from './index.js';

const file = new URL('./efficientnet-lite0-f16.safetensors', import.meta.url);
if (!fs.existsSync(file)) {
  console.error('efficientnet-lite0-f16.safetensors missing: run ./dev setup in the legonet repository');
  process.exit(1);
}
const data = fs.readFileSync(file);
const got = createHash('sha256').update(data).digest('hex');
if (got !== sha256 || data.length !== bytes) {
  console.error(`efficientnet-lite0-f16.safetensors is ${data.length} bytes, sha256 ${got}; index.js declares ${bytes} bytes, ${sha256}`);
  process.exit(1);
}
