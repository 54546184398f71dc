// The simulated day's workload: the options that size it, the model of a request's story (what the
// engineer does and the state the story expects on the board), the shared "hot" files that make
// conflicts, and the seeded plan of who opens, re-pushes and withdraws what, and when.

import { Mutex } from '../lib/sync.js';

export interface Options {
  engineers: number;
  hours: number;
  speedup: number;
  kills: number;
  seed: number;
  clones: number;
  report: string | null;
  keep: boolean;
  quick: boolean;
  /** Niceness of the engineers' git clients (and the baseline's client): in real life they run on laptops. */
  clientNice: number;
  /** Who makes the engineers' pushes: real `git push` for all, or the protocol generator with a sample of real git. */
  generator: 'git' | 'protocol';
  /** With the protocol generator: the share of stories whose pushes stay real `git push`. */
  gitSample: number;
  /** Requests an engineer opens in an 8-hour day (see REQUESTS_PER_ENGINEER_DAY). */
  requestsPerDay: number;
}

/**
 * The day's target: 3 requests an engineer-day, 30% of them re-pushed and 8% withdrawn, i.e. 4.14 pushes
 * an engineer-day (4.29 pushes/s for 500 engineers in 8 hours at 60×, as the draws fall with seed 1).
 */
export const TARGET_REQUESTS_PER_ENGINEER_DAY = 3;
export const REPUSH_SHARE = 0.3;
export const WITHDRAW_SHARE = 0.08;
/**
 * But a story drops a push that no longer makes sense when its time comes (a re-push or withdrawal of a
 * request already staged, live or removed; one planned after the day's end): 171 of 2,059 (8.3%) in the
 * 500-engineer day. So the stories open 3 / (1 − 0.083) = 3.27 requests an engineer-day, and the pushes
 * actually made average the target rate (bench/results/simulation.md).
 */
export const REQUESTS_PER_ENGINEER_DAY = 3.27;

/** The target rate in pushes a (real) second: what the report holds the run to. */
export function targetPushRate(o: Pick<Options, 'engineers' | 'hours' | 'speedup'>): number {
  const days = o.hours / 8;
  return (TARGET_REQUESTS_PER_ENGINEER_DAY * o.engineers * days * (1 + REPUSH_SHARE + WITHDRAW_SHARE)) / ((o.hours * 3600) / o.speedup);
}

/** `npm run simulate -- --help`: every option of the day, with its default (the CI model's: ci-report.ts CI_HELP). */
export const SIM_HELP = `usage: npm run simulate -- [options]     (or: node dist/bench/simulate.js [options])
The day: a real server (the built CLI), real git, engineers and a scripted pushmaster; exit 1 when a check fails.
  --engineers N          engineers (default 50)
  --hours H              length of the simulated day (default 2)
  --speedup X            simulated seconds per real second (default 60)
  --kills N              SIGKILLs of the server at random points, each followed by a restart (default 0)
  --seed N               seed of the workload and the faults (default 1)
  --clones N             working clones the engineers share (default 8)
  --client-nice N        nice level of the engineers' git clients (default 10)
  --generator git|protocol  real \`git push\` for every push, or the load generator of bench/load/ (default git)
  --git-sample F         with --generator protocol, the share of stories that still push with git (default 0.1)
  --requests-per-day N   requests an engineer opens in an 8-hour day (default ${REQUESTS_PER_ENGINEER_DAY})
  --quick                at most 60 engineers, 1 hour, 3 kills, speed-up at least 120
  --report FILE          also write the Markdown report to FILE
  --keep                 keep the temporary directories (server data, clones)
  -h, --help             this text`;

export function parseArgs(argv: string[]): Options {
  const o: Options = { engineers: 50, hours: 2, speedup: 60, kills: 0, seed: 1, clones: 8, report: null, keep: false, quick: false, clientNice: 10, generator: 'git', gitSample: 0.1, requestsPerDay: REQUESTS_PER_ENGINEER_DAY };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) {
        console.error(`simulate: ${a} needs a non-negative number`);
        process.exit(2);
      }
      return v;
    };
    if (a === '--engineers') o.engineers = Math.max(1, Math.floor(num()));
    else if (a === '--hours') o.hours = num();
    else if (a === '--speedup') o.speedup = Math.max(1, num());
    else if (a === '--kills') o.kills = Math.floor(num());
    else if (a === '--seed') o.seed = Math.floor(num());
    else if (a === '--clones') o.clones = Math.max(1, Math.floor(num()));
    else if (a === '--client-nice') o.clientNice = Math.min(19, Math.floor(num()));
    else if (a === '--generator') {
      const g = argv[++i];
      if (g !== 'git' && g !== 'protocol') {
        console.error('simulate: --generator takes git or protocol');
        process.exit(2);
      }
      o.generator = g;
    } else if (a === '--git-sample') o.gitSample = Math.min(1, num());
    else if (a === '--requests-per-day') o.requestsPerDay = num();
    else if (a === '--report') o.report = argv[++i] ?? null;
    else if (a === '--keep') o.keep = true;
    else if (a === '--quick') o.quick = true;
    else {
      console.error(`simulate: unknown option ${a}; npm run simulate -- --help lists them`);
      process.exit(2);
    }
  }
  if (o.quick) {
    o.engineers = Math.min(o.engineers, 60);
    o.hours = Math.min(o.hours, 1);
    o.speedup = Math.max(o.speedup, 120);
    o.kills = Math.min(o.kills, 3);
  }
  return o;
}

export type ModelState = 'unborn' | 'requested' | 'pickme' | 'added' | 'staged' | 'verified' | 'blessed' | 'live' | 'discarded' | 'delayed';

export interface Story {
  readonly n: number;
  readonly user: string;
  readonly ref: string;
  readonly clone: number;
  readonly urgent: boolean;
  readonly hot: { readonly file: string; readonly line: number } | null;
  readonly ownPath: string;
  readonly openAt: number; // simulated minutes
  readonly repushAt: number | null;
  readonly forceRepush: boolean;
  readonly withdrawAt: number | null;
  version: number;
  id: number | null;
  state: ModelState;
  push: number | null;
  sha: string | null;
  /** The commit the request's first commit sits on. */
  base: string | null;
  log: string[];
  readonly lock: Mutex;
  /** Removed from a push for a conflict: the owner rebases onto master. */
  needsRebase: boolean;
}

export interface PushModel {
  id: number;
  title: string;
  state: 'accepting' | 'staged' | 'blessed' | 'live' | 'discarded';
  tag: string | null;
}

export const HOT_FILES = 20;
export const HOT_LINES = 40;
export const hotPath = (k: number) => `hot/shared-${String(k).padStart(2, '0')}.txt`;
export const hotContent = (k: number) => Array.from({ length: HOT_LINES }, (_, i) => `shared file ${k} line ${i + 1}`).join('\n') + '\n';

/** The day's stories: who opens what when, which ones re-push (some forced) or withdraw, which touch a hot file. */
export function makeStories(o: Options, dayMin: number, rnd: () => number): Story[] {
const stories: Story[] = [];
  const perDay = o.requestsPerDay * o.engineers * (dayMin / 480); // ≈1,635 for 500 engineers over 8 hours
  const total = Math.max(4, Math.round(perDay));
  const seq = new Map<string, number>();
  for (let n = 0; n < total; n++) {
    const user = `e${1 + Math.floor(rnd() * o.engineers)}`;
    const k = (seq.get(user) ?? 0) + 1;
    seq.set(user, k);
    // Arrivals through the whole day; busier in the first two thirds.
    const u = rnd();
    const openAt = dayMin * 0.97 * (u < 0.75 ? rnd() * 0.7 : 0.7 + rnd() * 0.3);
    const hot = rnd() < 0.25 ? { file: hotPath(Math.floor(rnd() * HOT_FILES)), line: Math.floor(rnd() * HOT_LINES) } : null;
    const repush = rnd() < REPUSH_SHARE;
    const withdraw = rnd() < WITHDRAW_SHARE;
    stories.push({
      n,
      user,
      ref: `refs/pushreq/${user}-${k}`,
      clone: n % o.clones,
      urgent: rnd() < 0.05,
      hot,
      ownPath: `teams/${user}/change-${k}.txt`,
      openAt,
      repushAt: repush ? openAt + 5 + rnd() * 55 : null,
      forceRepush: rnd() < 0.25,
      withdrawAt: withdraw ? openAt + 10 + rnd() * 110 : null,
      version: 0,
      id: null,
      state: 'unborn',
      push: null,
      sha: null,
      base: null,
      log: [],
      lock: new Mutex(),
      needsRebase: false,
    });
  }
  return stories;
}

/** Pushes in the day: six in eight hours, two at least. */
export function pushCountFor(hours: number): number {
  return Math.max(2, Math.round((6 * hours) / 8));
}
