// Plain-Node test of the demo's time format (www/ui.js): a report's `ms` is a multiple of the
// clock's step (`msResolution`: 0.1 ms in Chromium, 1 ms in Firefox), so a time under the step
// must read "< step", never "0 ms" or a made-up "< 0.1 ms", and no digit finer than the step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtMs } from '../www/ui.js';

test('fmtMs reports times under the clock step as "< step" and prints no finer digits', () => {
  assert.equal(fmtMs(0, 1), '< 1 ms', 'Firefox: a 0 ms forget');
  assert.equal(fmtMs(0, 0.1), '< 0.1 ms', 'Chromium: a 0 ms forget');
  assert.equal(fmtMs(0.5, 1), '< 1 ms', 'not a multiple of the step: still under it');
  assert.equal(fmtMs(3, 1), '3 ms');
  assert.equal(fmtMs(0.4, 0.1), '0.4 ms');
  assert.equal(fmtMs(2.35, 0.005), '2.35 ms', 'a fine clock keeps two decimals');
  assert.equal(fmtMs(42.26, 0.1), '42.3 ms');
  assert.equal(fmtMs(1234.4, 1), '1,234 ms');
  assert.equal(fmtMs(7.125), '7.13 ms', 'without a step (page-side timings), as before');
  assert.equal(fmtMs(0), '0.00 ms', 'without a step, no claim about the clock');
});
