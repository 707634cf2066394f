// The package's end-to-end scenarios (tests/scenarios.mjs, the same code as tests/pkg.test.mjs)
// in headless Debian Firefox ESR, on the CPU path, driven by puppeteer-core over WebDriver BiDi.
// Firefox rounds performance.now() to 1 ms (not cross-origin isolated): the reports must say so
// through msResolution rather than print a 0 ms forget as exact.
import { test, before, after } from 'node:test';
import { openBrowser } from './browser.mjs';
import { coreFlow, abortedTrain } from './scenarios.mjs';

let b;

before(async () => {
  b = await openBrowser({ browser: 'firefox' });
  console.log(`[firefox] ${b.version}`);
});
after(async () => { await b?.close(); });

test('package end to end on cpu in Firefox', { timeout: 900_000 }, (t) => coreFlow(b, t, { backend: 'cpu', clockStep: 1 }));

test('an aborted train leaves the previous model usable and unchanged, in Firefox', { timeout: 600_000 }, () => abortedTrain(b));
