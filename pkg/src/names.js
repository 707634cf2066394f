// The names the package takes, checked on the page before any photo is decoded or sent: labels,
// ids and class names (stored by the core, whose limit this mirrors) and saved models' names
// (which become file names).

import { LegoNetError } from './errors.js';

/** Longest label, id or class name, in UTF-8 bytes: the core's `ledger::MAX_NAME_BYTES` (it
 *  keeps a copy of an id per activated adapter, so a snapshot must not bring longer ones). */
export const MAX_NAME_BYTES = 1024;

/** Longest saved model's name, in UTF-8 bytes: it is hex-encoded into a file name, which OPFS
 *  limits in length. */
export const MAX_MODEL_NAME_BYTES = 100;

const utf8Length = (s) => new TextEncoder().encode(s).length;

function describe(value) {
  return typeof value === 'string' ? 'an empty one' : JSON.stringify(value) ?? typeof value;
}

/** `value` if it is a non-empty string of at most MAX_NAME_BYTES; else INVALID_INPUT, naming `what`. */
export function checkName(value, what) {
  if (typeof value !== 'string' || value.length === 0) {
    throw new LegoNetError('INVALID_INPUT', `${what} must be a non-empty string, not ${describe(value)}`);
  }
  const bytes = utf8Length(value);
  if (bytes > MAX_NAME_BYTES) throw new LegoNetError('INVALID_INPUT', `${what} may have at most ${MAX_NAME_BYTES} UTF-8 bytes (it has ${bytes})`);
  return value;
}

/** `name` if it can name a saved model: a non-empty, well-formed string (UTF-8 would turn a lone
 *  surrogate into U+FFFD, so two names would share one model's files but not its lock) of at
 *  most MAX_MODEL_NAME_BYTES. Else INVALID_INPUT. */
export function checkModelName(name) {
  if (typeof name !== 'string' || name.length === 0) {
    throw new LegoNetError('INVALID_INPUT', `a saved model's name must be a non-empty string, not ${describe(name)}`);
  }
  if (/\p{Cs}/u.test(name)) throw new LegoNetError('INVALID_INPUT', "a saved model's name must be well-formed Unicode (it has a lone surrogate)");
  const bytes = utf8Length(name);
  if (bytes > MAX_MODEL_NAME_BYTES) throw new LegoNetError('INVALID_INPUT', `a saved model's name may have at most ${MAX_MODEL_NAME_BYTES} UTF-8 bytes (this one has ${bytes})`);
  return name;
}
