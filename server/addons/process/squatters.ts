// A program that holds an add-on's loopback port while the add-on is down (it crashed, or paas
// restarted it) would receive what the attached apps' clients send there, their password first.
// Before each start paas looks for such a listener, says whose it is, and stops it if an app owns it.
import fs from 'node:fs';
import { groupMembers, signalGroup } from '../../sandbox/process-groups.js';
import { portListeners, socketHolders } from '../../runtime/listeners.js';
import type { SquatReport } from '../types.js';


function statusUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function pgidOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/**
 * Kills the process group of `pid` if every member of it is the app's (its uid) or root-owned
 * machinery of its sandbox (bubblewrap's monitor and init, in the dyno's own session), and it is
 * not paas's own group. A group is never larger than a session, and an app's processes can only
 * make or join groups in its dyno's session, so this reaches that dyno and nothing else.
 */
function stopGroupOf(pid: number, appUid: number): boolean {
  const pgid = pgidOf(pid);
  if (pgid === undefined || pgid <= 1 || pgid === pgidOf(process.pid)) return false;
  const members = groupMembers(pgid);
  if (members.length === 0 || members.includes(process.pid)) return false;
  if (members.some((m) => statusUid(m) !== appUid && statusUid(m) !== 0)) return false;
  signalGroup(pgid, 'SIGKILL');
  return true;
}

/**
 * Looks at the add-on's port before it starts: each listener of another uid than the add-on's is
 * reported and, when its uid is an app's (`appOf`), its processes' groups are killed; then waits
 * (at most 3 s) for the port to be free. Resolves with what it found, empty when the port was free.
 */
export async function clearSquatters(addon: string, port: number, ownUid: number, appOf: (uid: number) => string | undefined): Promise<SquatReport[]> {
  const reports: SquatReport[] = [];
  for (const { uid, inode } of portListeners(port, '/proc/net')) {
    if (uid === ownUid) continue;
    const app = appOf(uid);
    const pids = socketHolders(inode);
    const stopped = app !== undefined && pids.length > 0 && pids.map((pid) => stopGroupOf(pid, uid)).every(Boolean);
    reports.push({ addon, port, uid, app, pids, stopped });
  }
  const until = Date.now() + 3000;
  while (reports.some((r) => r.stopped) && portListeners(port, '/proc/net').some((l) => l.uid !== ownUid) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return reports;
}
