// Docker keeps a container off the host's 127.0.0.1, but not off the host's other addresses: from
// a user-defined bridge network, the gateway address (and any address of the host) reaches every
// service bound to 0.0.0.0 — the API and router with PAAS_BIND_HOST=0.0.0.0, dynos published with
// PAAS_DOCKER_BIND_ADDRESS=0.0.0.0, sshd. One iptables rule per paas server closes that path: a
// new connection coming in from any bridge of this server's networks (their interface names share
// a prefix, networks.ts) is refused. Replies to connections the host opened (the router to a dyno,
// paas to an add-on) still pass, and so does traffic to the outside world (forwarded, not input).
import { runApart } from '../../lib/run-apart.js';

const run = runApart;

/** The rule's arguments after `-C`, `-I` or `-D INPUT`: fixed words and our own names only. */
export function hostGuardRule(bridgePrefix: string, instance: string): string[] {
  return ['-i', `${bridgePrefix}+`, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-m', 'comment', '--comment', `paas ${instance}: no connections from app containers to this host`, '-j', 'REJECT'];
}

/**
 * Adds the rule unless it is there (it stays when the server stops: its containers run on).
 * Resolves with a warning for the server's log when it cannot (no iptables, not root).
 */
export async function guardHost(bridgePrefix: string, instance: string): Promise<string | undefined> {
  const rule = hostGuardRule(bridgePrefix, instance);
  try {
    await run('iptables', ['-w', '-C', 'INPUT', ...rule]);
    return undefined;
  } catch {
    // Not there yet (or no iptables: the insert says which).
  }
  try {
    await run('iptables', ['-w', '-I', 'INPUT', ...rule]);
    return undefined;
  } catch (err) {
    const why = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0];
    return `could not add the iptables rule that keeps app containers from connecting to this host's addresses (${why}): dynos can reach services this host binds to 0.0.0.0 through their network's gateway. Run paas as root with iptables installed.`;
  }
}

/** Removes the rule (tests, after their server's networks are gone); nothing when it is not there. */
export async function unguardHost(bridgePrefix: string, instance: string): Promise<void> {
  await run('iptables', ['-w', '-D', 'INPUT', ...hostGuardRule(bridgePrefix, instance)]).catch(() => undefined);
}
