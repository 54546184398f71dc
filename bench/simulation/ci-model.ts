// A model of CI for the simulated day (issue 16): build jobs as a discrete-event simulation in simulated
// minutes, so a whole day of runs under four strategies takes a second, with no servers and no real jobs.
//
// - The day's train comes from the same workload as the real simulation (makeStories with the same seed,
//   and the pushmaster's schedule: push i opens at 5% of its slot, accepts in four rounds up to 60%), so
//   every strategy sees the same pushes, the same requests in the same merge order and the same breaking
//   marks. Left out, on purpose: hot-file conflicts (they are the train's business, not CI's) and the
//   return of removed requests to a later push (every strategy would then see a different day).
// - A run of a build job takes a log-normal time (median `minutes`, spread `sigma`), fails for real when
//   it holds a breaking request, and otherwise fails spuriously at `flakeRate`. Each draw is a function of
//   (seed, push, the requests in the build, how many times this strategy has run that build): common
//   random numbers, so the first run of the same build flakes, or not, under every strategy alike, and
//   the same strategy on a flake-free CI can be compared run for run.
// - One runner with `slots` parallel slots, shared by all pushes of the day, first come first served.
// A strategy sees only what a real one sees: which runs passed and failed. Whether a failure was a
// flake, and which requests break the build, only the accounting here knows.
import { seeded } from '../lib/sync.js';
import { makeStories, parseArgs, pushCountFor } from './workload.js';

export interface CiParams {
  /** Share of runs without a breaking request that fail anyway (a flaky test, a lost runner). */
  readonly flakeRate: number;
  /** Share of requests that break the build. */
  readonly breakingRate: number;
  /** Runs the runner can take at once. */
  readonly slots: number;
  /** Median minutes of one run. */
  readonly minutes: number;
  /** Spread of the log-normal (σ of ln minutes): 0.35 puts p95 near 1.8× the median. */
  readonly sigma: number;
}

export const DEFAULT_CI: CiParams = { flakeRate: 0.1, breakingRate: 0.03, slots: 2, minutes: 10, sigma: 0.35 };

export interface DayPush {
  /** 0-based in the day. */
  readonly index: number;
  /** Simulated minute of the last accept: the deploy branch is complete and CI may start. */
  readonly readyAt: number;
  /** Request numbers (the stories' n) in merge order. */
  readonly requests: readonly number[];
}

export interface Day {
  readonly seed: number;
  readonly pushes: readonly DayPush[];
  /** The requests the story marks as breaking the build. */
  readonly breaking: ReadonlySet<number>;
}

/**
 * The day's train from the simulation's workload: the same stories (makeStories, seeded with `seed`
 * exactly as `npm run simulate` seeds them) put into pushes on the pushmaster's schedule. A request
 * joins the push that is accepting when it opens (or the next one to open), is accepted at the first
 * round after it opened, and is out if its owner withdraws it before the last round.
 */
export function dayFromWorkload(w: { engineers: number; hours: number; seed: number }, breakingRate: number): Day {
  const o = { ...parseArgs([]), engineers: w.engineers, hours: w.hours, seed: w.seed };
  const dayMin = o.hours * 60;
  const stories = makeStories(o, dayMin, seeded(o.seed));
  const count = pushCountFor(o.hours);
  const slot = dayMin / count;
  const taken = new Set<number>();
  const pushes: DayPush[] = [];
  const byOpen = [...stories].sort((a, b) => a.openAt - b.openAt || a.n - b.n);
  for (let i = 0; i < count; i++) {
    const openAt = slot * i + slot * 0.05;
    const closeAt = slot * i + slot * 0.6;
    const order: number[] = [];
    for (let k = 1; k <= 4; k++) {
      const round = openAt + ((closeAt - openAt) * k) / 4;
      for (const s of byOpen) {
        if (taken.has(s.n) || s.openAt > round) continue;
        if (s.withdrawAt !== null && s.withdrawAt <= round) {
          taken.add(s.n); // withdrawn before it was accepted
          continue;
        }
        taken.add(s.n);
        order.push(s.n);
      }
    }
    const requests = order.filter((n) => {
      const w2 = stories[n]!.withdrawAt;
      return w2 === null || w2 > closeAt;
    });
    // An empty push is discarded by the pushmaster: no CI.
    if (requests.length) pushes.push({ index: i, readyAt: closeAt, requests });
  }
  // Breaking marks from a stream of their own: changing the rate does not change the workload, and the
  // requests that break at 3% also break at 5%.
  const rnd = seeded((o.seed ^ 0x5bd1e995) >>> 0);
  const breaking = new Set<number>();
  for (const s of stories) if (rnd() < breakingRate) breaking.add(s.n);
  return { seed: o.seed, pushes, breaking };
}

/** FNV-1a, for the common-random-number draws. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The draws of the `attempt`-th run (0-based) of the build holding `members` in push `push`. */
export function runDraw(seed: number, push: number, members: readonly number[], attempt: number, p: CiParams): { flakes: boolean; minutes: number } {
  const r = seeded(hash(`${seed}|${push}|${members.join(',')}|${attempt}`));
  const flakes = r() < p.flakeRate;
  const u1 = Math.max(r(), 1e-12);
  const u2 = r();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return { flakes, minutes: p.minutes * Math.exp(p.sigma * z) };
}

/** What a run is for: a build of the deploy branch as it stands (first build, retry, rebuild) or a candidate of a search. */
export type Role = 'whole' | 'candidate';

/** What a strategy learns of a run it asked for. */
export interface RunResult {
  readonly id: number;
  readonly members: readonly number[];
  readonly role: Role;
  readonly passed: boolean;
}

/** One culprit search as the strategy reports it (Pushmanager's): for the ⌈log2 N⌉ + 1 target. */
export interface SearchReport {
  /** Requests in the deploy branch the search ran on. */
  readonly n: number;
  /** The candidate runs it made (not the build and its retry). */
  readonly runs: readonly number[];
  readonly verdict: 'culprit' | 'pair' | 'master-red';
  /** The request removed, if any. */
  readonly removed: number | null;
  /** The red candidates the verdict rests on (their requests), besides the whole branch's red build and retry. */
  readonly evidence: readonly (readonly number[])[];
}

/** What a strategy may do with its push. */
export interface PushApi {
  readonly push: DayPush;
  /** The deploy branch as it stands: the push's requests still in it, in merge order. */
  readonly members: readonly number[];
  /** Asks the runner for a run of a build holding `members`; returns its id. */
  run(members: readonly number[], role: Role): number;
  /** Takes a request out of the push (auto-removed as the culprit). */
  remove(request: number): void;
  /** The deploy branch as it stands passed: the push can go on. */
  green(): void;
  /** The strategy stops without a green deploy branch. */
  giveUp(why: string): void;
  /** Slots free now (not running, nothing queued ahead). */
  free(): number;
  /** Reports a finished culprit search. */
  searched(r: SearchReport): void;
}

export interface PushController {
  /** The deploy branch is complete: the first decision. */
  begin(): void;
  /** One of its runs ended. */
  ended(r: RunResult): void;
  /** A slot freed somewhere on the runner (for strategies that wait for room). */
  room(): void;
}

export interface Strategy {
  readonly name: string;
  start(api: PushApi): PushController;
}

interface RunRecord {
  readonly id: number;
  readonly push: number;
  readonly members: readonly number[];
  readonly role: Role;
  readonly breaking: boolean;
  readonly flakes: boolean;
  readonly minutes: number;
  readonly queuedAt: number;
  startedAt: number;
  endsAt: number;
  done: boolean;
}

/** One red spell of a push: from a failed build of the whole branch to its next green build (or the end). */
export interface Spell {
  /** Runs started during the spell (the red build that opened it not counted). */
  runs: number;
  /** Breaking requests removed during it. */
  culprits: number;
  /** Requests removed during it that do not break the build. */
  innocents: number;
  /** Failed builds of the whole branch since the spell opened (1: no retry was tried). */
  wholeFails: number;
  /** Innocents removed when the branch they were removed from had failed only once (no retry tried). */
  innocentsOnOneFail: number;
}

export interface PushOutcome {
  readonly index: number;
  readonly requests: number;
  readonly breakingIn: number;
  readyAt: number;
  greenAt: number | null;
  gaveUp: string | null;
  runs: number;
  minutes: number;
  flakyFailures: number;
  /** Of those, failed builds of the whole branch (the rest are search candidates). */
  flakyWholeFailures: number;
  culpritsFound: number;
  wronglyRemoved: number[];
  readonly spells: Spell[];
  readonly searches: { n: number; runs: number; bound: number; flakyRuns: number; verdict: SearchReport['verdict']; culprit: boolean | null }[];
  /** Innocent requests a search removed on a red candidate that ran once, holds no breaking request, and would have passed its next run. */
  removedOnPassableFlake: number;
}

export interface DayOutcome {
  readonly strategy: string;
  readonly pushes: PushOutcome[];
  /** When the last run ended (simulated minutes since the day began). */
  end: number;
}

/** ⌈log2 n⌉ + 1: the most candidate runs a culprit may cost (SPEC §6). */
export const runsBound = (n: number): number => Math.ceil(Math.log2(Math.max(1, n))) + 1;

/** The day under one strategy: every push's runs on the shared runner, in simulated time. */
export interface SimulateOptions {
  /** A safety net against a strategy that would run for ever (the four here stop on their own). */
  readonly maxRunsPerPush?: (n: number) => number;
  /** A scripted CI instead of the seeded draws (tests): the flake and the minutes of the attempt-th run of a build. */
  readonly draw?: (push: number, members: readonly number[], attempt: number) => { flakes: boolean; minutes: number };
}

export function simulateCi(day: Day, strategy: Strategy, p: CiParams, opts: SimulateOptions = {}): DayOutcome {
  const maxRuns = opts.maxRunsPerPush ?? ((n: number) => 4 * n + 60);
  const draw = opts.draw ?? ((push: number, ms: readonly number[], attempt: number) => runDraw(day.seed, push, ms, attempt, p));
  let now = 0;
  let nextId = 1;
  let busy = 0;
  const queue: RunRecord[] = [];
  const running: RunRecord[] = [];
  /** Runs and failed runs of each build, by buildKey: a retry draws its next attempt; a branch a search already ran has its failures. */
  const attempts = new Map<string, number>();
  const failsOf = new Map<string, number>();
  const buildKey = (push: number, members: readonly number[]) => `${push}|${members.join(',')}`;
  const outcomes: PushOutcome[] = [];
  const active = new Map<number, { ctl: PushController; api: PushApi & { done: boolean; spell: Spell | null; branchFails: number; out: PushOutcome } }>();

  const dispatch = () => {
    while (busy < p.slots && queue.length) {
      const r = queue.shift()!;
      busy++;
      r.startedAt = now;
      r.endsAt = now + r.minutes;
      running.push(r);
    }
  };

  const startPush = (dp: DayPush) => {
    const out: PushOutcome = { index: dp.index, requests: dp.requests.length, breakingIn: dp.requests.filter((n) => day.breaking.has(n)).length, readyAt: dp.readyAt, greenAt: null, gaveUp: null, runs: 0, minutes: 0, flakyFailures: 0, flakyWholeFailures: 0, culpritsFound: 0, wronglyRemoved: [], spells: [], searches: [], removedOnPassableFlake: 0 };
    outcomes.push(out);
    const members = [...dp.requests];
    const runsById = new Map<number, RunRecord>();
    const closeSpell = () => {
      if (api.spell) out.spells.push(api.spell);
      api.spell = null;
    };
    const finish = () => {
      api.done = true;
      // Its runs still queued are dropped (they never ran); running ones are stopped now (their minutes so far count).
      for (let i = queue.length - 1; i >= 0; i--)
        if (queue[i]!.push === dp.index) {
          const [r] = queue.splice(i, 1);
          out.runs--;
          out.minutes -= r!.minutes;
          if (api.spell) api.spell.runs--;
        }
      closeSpell();
      active.delete(dp.index);
      for (const r of running)
        if (r.push === dp.index && !r.done) {
          out.minutes -= r.minutes - (now - r.startedAt);
          r.endsAt = now;
        }
    };
    const api = {
      push: dp,
      members,
      done: false,
      spell: null as Spell | null,
      /** Failed builds of the whole branch as it stands (reset when a request is removed). */
      branchFails: 0,
      out,
      run(ms: readonly number[], role: Role): number {
        if (api.done) throw new Error('run asked after the push ended');
        const key = buildKey(dp.index, ms);
        const attempt = attempts.get(key) ?? 0;
        attempts.set(key, attempt + 1);
        const d = draw(dp.index, ms, attempt);
        const breaking = ms.some((n) => day.breaking.has(n));
        const r: RunRecord = { id: nextId++, push: dp.index, members: [...ms], role, breaking, flakes: !breaking && d.flakes, minutes: d.minutes, queuedAt: now, startedAt: NaN, endsAt: NaN, done: false };
        runsById.set(r.id, r);
        out.runs++;
        out.minutes += r.minutes;
        if (api.spell) api.spell.runs++;
        queue.push(r);
        dispatch();
        if (out.runs >= maxRuns(dp.requests.length) && !api.done) {
          // A safety net for a strategy that would run for ever; the strategies below stop on their own.
          out.gaveUp = `over ${out.runs} runs`;
        }
        return r.id;
      },
      remove(n: number): void {
        const i = members.indexOf(n);
        if (i < 0) throw new Error(`request ${n} is not in push ${dp.index}`);
        members.splice(i, 1);
        if (day.breaking.has(n)) {
          out.culpritsFound++;
          if (api.spell) api.spell.culprits++;
        } else {
          out.wronglyRemoved.push(n);
          if (api.spell) {
            api.spell.innocents++;
            if (api.branchFails < 2) api.spell.innocentsOnOneFail++;
          }
        }
        // The branch as it now stands may have run already (the search's candidate without it).
        api.branchFails = failsOf.get(buildKey(dp.index, members)) ?? 0;
      },
      green(): void {
        out.greenAt = now;
        finish();
      },
      giveUp(why: string): void {
        out.gaveUp = why;
        finish();
      },
      free: () => Math.max(0, p.slots - busy - queue.length),
      searched(s: SearchReport): void {
        const flakyRuns = s.runs.filter((id) => runsById.get(id)?.flakes).length;
        out.searches.push({ n: s.n, runs: s.runs.length, bound: runsBound(s.n), flakyRuns, verdict: s.verdict, culprit: s.removed === null ? null : day.breaking.has(s.removed) });
        if (s.removed !== null && !day.breaking.has(s.removed)) {
          // Would a retry of the evidence have spared it? Its next draw, the one a retry would have got.
          // Only a red one counts (it failed on its one run, a flake, and its second run would pass).
          const passable = s.evidence.some((ms) => !ms.some((n) => day.breaking.has(n)) && attempts.get(buildKey(dp.index, ms)) === 1 && draw(dp.index, ms, 0).flakes && !draw(dp.index, ms, 1).flakes);
          if (passable) out.removedOnPassableFlake++;
        }
      },
    };
    const ctl = strategy.start(api);
    active.set(dp.index, { ctl, api });
    ctl.begin();
  };

  const pending = [...day.pushes].sort((a, b) => a.readyAt - b.readyAt);
  for (;;) {
    running.sort((a, b) => a.endsAt - b.endsAt || a.id - b.id);
    const nextEnd = running[0]?.endsAt ?? Infinity;
    const nextPush = pending[0]?.readyAt ?? Infinity;
    if (nextEnd === Infinity && nextPush === Infinity) break;
    if (nextPush <= nextEnd) {
      now = Math.max(now, nextPush);
      const dp = pending.shift()!;
      startPush(dp);
    } else {
      now = nextEnd;
      const r = running.shift()!;
      r.done = true;
      busy--;
      const owner = active.get(r.push);
      if (owner) {
        const out = owner.api.out;
        const passed = !r.breaking && !r.flakes;
        if (!passed) failsOf.set(buildKey(r.push, r.members), (failsOf.get(buildKey(r.push, r.members)) ?? 0) + 1);
        if (!passed && !r.breaking) {
          out.flakyFailures++;
          if (r.role === 'whole') out.flakyWholeFailures++;
        }
        if (r.role === 'whole') {
          if (!passed) {
            if (!owner.api.spell) owner.api.spell = { runs: 0, culprits: 0, innocents: 0, wholeFails: 0, innocentsOnOneFail: 0 };
            owner.api.spell.wholeFails++;
            owner.api.branchFails++;
          } else {
            owner.api.branchFails = 0;
            if (owner.api.spell) out.spells.push(owner.api.spell);
            owner.api.spell = null;
          }
        }
        if (out.gaveUp !== null && !owner.api.done) owner.api.giveUp(out.gaveUp);
        else owner.ctl.ended({ id: r.id, members: r.members, role: r.role, passed });
      }
      dispatch();
      for (const { ctl, api } of [...active.values()]) if (!api.done && api.free() > 0) ctl.room();
    }
    dispatch();
  }
  for (const o of outcomes) if (o.greenAt === null && o.gaveUp === null) o.gaveUp = 'no decision';
  return { strategy: strategy.name, pushes: outcomes, end: now };
}
