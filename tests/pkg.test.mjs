// Browser tests of the npm package (issue 5) in headless Debian Chromium: the scenarios of
// tests/scenarios.mjs (Firefox runs the same ones, tests/firefox.test.mjs) on the CPU always and
// on WebGPU where Chromium gives an adapter.
import { test, before, after } from 'node:test';
import { openBrowser } from './browser.mjs';
import { coreFlow, abortedTrain } from './scenarios.mjs';

let b;

before(async () => { b = await openBrowser(); });
after(async () => { await b?.close(); });

for (const backend of ['cpu', 'webgpu']) {
  // Chromium coarsens performance.now() to 0.1 ms without cross-origin isolation.
  test(`package end to end on ${backend}`, { timeout: 900_000 }, (t) => coreFlow(b, t, { backend, clockStep: 0.1 }));
}

test('an aborted train leaves the previous model usable and unchanged', { timeout: 600_000 }, () => abortedTrain(b));
