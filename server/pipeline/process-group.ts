// Process groups of local jobs, read from Linux's /proc: whether a group still has live members,
// ending it (SIGTERM, then SIGKILL after a grace period), and ending a group a crashed server left
// behind without ever signalling a process that merely reuses a recorded pid.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z (zombie), T … */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  /** Start time in clock ticks since boot (field 22): with the boot id, names one process for good. */
  readonly startTicks: number;
}

/** /proc/PID/stat, or null when there is no such process. */
export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return { pid, state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), startTicks: Number(f[19]) };
}

let cachedBootId: string | undefined;
/** This boot's id: start ticks of a process recorded before a reboot say nothing after it. */
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = 'unknown';
    }
  }
  return cachedBootId;
}

/** Live (non-zombie) members of process group `pgid`. A zombie holds no resources and ignores signals: it does not count. */
export function groupMembers(pgid: number): ProcStat[] {
  // The cheap check first: kill(-pgid, 0) fails with ESRCH once the group has no member at all.
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return [];
  }
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.pgrp === pgid && s.state !== 'Z') out.push(s);
  }
  return out;
}

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* gone already */
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends process group `pgid`: SIGTERM to all of it, SIGKILL after `graceMs` to whatever is left, and
 * resolves once no live member remains (or, after SIGKILL, `afterKillMs` later at the latest).
 * Returns whether SIGKILL was needed.
 */
export async function endGroup(pgid: number, graceMs: number, opts: { pollMs?: number; afterKillMs?: number } = {}): Promise<{ killed: boolean }> {
  const poll = opts.pollMs ?? 20;
  if (groupMembers(pgid).length === 0) return { killed: false };
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(poll);
    if (groupMembers(pgid).length === 0) return { killed: false };
  }
  signalGroup(pgid, 'SIGKILL');
  const until = Date.now() + (opts.afterKillMs ?? 2_000);
  while (groupMembers(pgid).length > 0 && Date.now() < until) await sleep(poll);
  return { killed: true };
}

export interface RecordedGroup {
  readonly pgid: number;
  /** The leader's start time when the job started (ProcStat.startTicks). */
  readonly startTicks: number;
  /** bootId() when it was recorded. */
  readonly bootId: string;
}

export type OrphanOutcome =
  /** Nothing of the job is left (or the machine rebooted since). */
  | { readonly outcome: 'gone' }
  /** The pid is now someone else's process group: nothing was signalled. */
  | { readonly outcome: 'reused'; readonly pid: number }
  | { readonly outcome: 'killed'; readonly pids: readonly number[] };

/**
 * Kills what is left of a job's process group after a server crash, safely: only processes in group
 * `pgid` that started no earlier than the recorded leader, on the same boot, and only when the pid
 * `pgid` is not now a different process. (Linux does not hand out a pid that is still a live group's
 * id, so members of the group that started after the leader are the job's own children.)
 */
export async function killOrphanGroup(rec: RecordedGroup, graceMs = 2_000): Promise<OrphanOutcome> {
  if (rec.bootId !== bootId()) return { outcome: 'gone' };
  const leader = procStat(rec.pgid);
  if (leader && leader.startTicks !== rec.startTicks) return { outcome: 'reused', pid: rec.pgid };
  const ours = () => groupMembers(rec.pgid).filter((p) => p.startTicks >= rec.startTicks);
  const members = ours();
  if (members.length === 0) return { outcome: 'gone' };
  // Signal each checked pid, never the group as a whole: a group id can outlive its leader.
  const pids = members.map((m) => m.pid);
  const send = (sig: NodeJS.Signals) => {
    for (const m of ours()) {
      try {
        process.kill(m.pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  send('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (ours().length > 0 && Date.now() < deadline) await sleep(20);
  if (ours().length > 0) send('SIGKILL');
  const until = Date.now() + 2_000;
  while (ours().length > 0 && Date.now() < until) await sleep(20);
  return { outcome: 'killed', pids };
}
