// The frame of the scripts that drive the dashboard outside the tests (bench:dashboard,
// docs:screenshots): a real server and chromium, both stopped at the end, and the exit code.
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../../test/helpers/browser.js';
import { type Paas, startPaas } from '../../test/helpers/paas.js';

/** Starts a server (with `env`) and chromium, runs `work`, stops both, and exits 0, or 1 with the error's message. */
export function runWithBrowser(env: Record<string, string>, work: (paas: Paas, browser: Browser) => Promise<void>): void {
  const run = async () => {
    const [paas, browser] = await Promise.all([startPaas(env), launchBrowser()]);
    try {
      await work(paas, browser);
    } finally {
      await browser.close();
      await paas.stop();
    }
  };
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
