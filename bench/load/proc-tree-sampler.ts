// Per-process CPU of a process's descendants, for the capacity profile (`capacity --profile DIR`): which
// git children (http-backend, receive-pack, index-pack, the hook, …) a push costs, without perf. It polls
// /proc every few ms, notes each new descendant's command line once, and keeps the latest on-CPU time of
// each from /proc/PID/schedstat (ns, precise, unlike the tick-sampled utime). A process that ends between
// two polls loses its last few ms, and one that lives shorter than a poll is missed: the summary gives the
// share of the root's children CPU (from /proc/ROOT/stat's cutime+cstime) it accounts for.
//
//   node dist/bench/load/proc-tree-sampler.js ROOT_PID OUT.json [POLL_MS]   → samples until SIGTERM, then writes OUT.json
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const root = Number(process.argv[2]);
const out = process.argv[3];
const pollMs = Number(process.argv[4] ?? 3);
if (!Number.isInteger(root) || !out) {
  console.error('usage: proc-tree-sampler ROOT_PID OUT.json [POLL_MS]');
  process.exit(2);
}

interface Seen {
  kind: string;
  ppid: number;
  ns: number;
  /** On-CPU ns when first seen, for processes already running at the first poll (long-lived sessions). */
  base: number;
}
const seen = new Map<number, Seen>();
const notOurs = new Set<number>();

const read = (p: string): string | null => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};

/** What a process is, in a few words: `git receive-pack`, `git-http-backend`, `perl proc-receive`. */
function kindOf(pid: number): string | null {
  const cmd = read(`/proc/${pid}/cmdline`);
  if (cmd === null) return null;
  const argv = cmd.split('\0').filter(Boolean);
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  if (!argv.length) return '?';
  let i = 0;
  if (base(argv[0]!) === 'stdbuf') i = argv.findIndex((a, k) => k > 0 && !a.startsWith('-'));
  const words = [base(argv[i] ?? '?')];
  // git's subcommand, after its global options (-C DIR, -c k=v).
  if (words[0] === 'git') {
    for (let k = i + 1; k < argv.length; k++) {
      if (argv[k] === '-C' || argv[k] === '-c') k++;
      else if (!argv[k]!.startsWith('-')) {
        words.push(argv[k]!);
        break;
      }
    }
  } else if (words[0] === 'perl' || words[0] === 'node' || words[0] === 'sh') words.push(base(argv[i + 1] ?? ''));
  return words.join(' ');
}

function ppidOf(pid: number): number | null {
  const st = read(`/proc/${pid}/stat`);
  if (st === null) return null;
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
}

function isOurs(pid: number, ppid: number): boolean {
  return ppid === root || seen.has(ppid);
}

function rootChildrenMs(): number {
  const st = read(`/proc/${root}/stat`);
  if (st === null) return NaN;
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

const children0 = rootChildrenMs();
const t0 = performance.now();
let polls = 0;

function poll(): void {
  polls++;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === root || notOurs.has(pid)) continue;
    let s = seen.get(pid);
    if (!s) {
      const ppid = ppidOf(pid);
      if (ppid === null) continue;
      if (!isOurs(pid, ppid)) {
        // A process is never re-parented onto our tree, but a young one may still be in fork: look again once.
        if (ppid !== 1) notOurs.add(pid);
        continue;
      }
      const kind = kindOf(pid);
      if (kind === null) continue;
      s = { kind, ppid, ns: 0, base: -1 };
      seen.set(pid, s);
    }
    const ss = read(`/proc/${pid}/schedstat`);
    if (ss === null) continue;
    const ns = Number(ss.split(' ')[0]);
    if (s.base < 0) s.base = polls === 1 ? ns : 0;
    s.ns = Math.max(s.ns, ns);
  }
}

const timer = setInterval(poll, pollMs);
process.on('SIGTERM', () => {
  clearInterval(timer);
  const byKind = new Map<string, { processes: number; cpuMs: number }>();
  for (const s of seen.values()) {
    // Exec keeps the pid: the kind seen first (e.g. `git http-backend` before it execs) names it.
    const k = byKind.get(s.kind) ?? { processes: 0, cpuMs: 0 };
    k.processes++;
    k.cpuMs += (s.ns - Math.max(0, s.base)) / 1e6;
    byKind.set(s.kind, k);
  }
  const sampledMs = [...byKind.values()].reduce((a, b) => a + b.cpuMs, 0);
  const childrenMs = rootChildrenMs() - children0;
  writeFileSync(out, JSON.stringify({ root, seconds: (performance.now() - t0) / 1000, polls, childrenCpuMs: childrenMs, sampledCpuMs: sampledMs, byKind: Object.fromEntries([...byKind].sort((a, b) => b[1].cpuMs - a[1].cpuMs)) }, null, 2));
  process.exit(0);
});
