// What a suite needs of the host beyond the README's prerequisites: root (app uids, network
// namespaces, cgroups, mounts), bubblewrap that can make namespaces, nftables. Without it the suite
// is skipped, and one line says what is missing. CI (.ci/run, as root) sets PAAS_TEST_ALL=1: there a
// missing need fails the file instead, so no suite is skipped unseen where everything is installed.

/** Whether the tests run as root, as CI runs them. */
export const asRoot = process.getuid?.() === 0;

/**
 * Whether `what` can run on this host: true when every one of `needs` (a description of the need →
 * whether the host meets it) holds. Otherwise prints once `<what>: skipped, it needs <the missing>`
 * and returns false, or throws when PAAS_TEST_ALL=1 requires every suite to run.
 */
export function hostCanRun(what: string, needs: Record<string, boolean>): boolean {
  const missing = Object.entries(needs)
    .filter(([, met]) => !met)
    .map(([need]) => need);
  if (missing.length === 0) return true;
  const needed = missing.join(' and ');
  if (process.env.PAAS_TEST_ALL === '1') {
    throw new Error(`PAAS_TEST_ALL=1 requires every suite to run, but "${what}" needs ${needed}, which this host lacks. Run as root with what .ci/run installs, or unset PAAS_TEST_ALL to skip it.`);
  }
  console.log(`${what}: skipped, it needs ${needed}`);
  return false;
}

/** The need for root, saying what root gives the suite (`app uids`, `network namespaces`…). */
export function root(forWhat: string): Record<string, boolean> {
  return { [`root (${forWhat})`]: asRoot };
}
