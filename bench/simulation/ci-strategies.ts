// The four ways a train can answer a red build, as strategies of the CI model (ci-model.ts), each
// deciding what to run after each result and seeing only passed/failed, as a real one does:
// - Pushmanager: retry the failed build once; failed again: the culprit search of state/bisect.ts
//   (the very function the server asks), the culprit auto-removed (of a pair, the later one), rebuild;
// - retest the whole batch until it passes (Tide's failure mode), capped;
// - remove the last accepted request and build again (a naive train);
// - one request per build, in merge order, each on top of the ones that passed (marge-bot, Kodiak):
//   a red build drops that request, with no retry (they hand it back to its author).
import { culpritSpacing, flakesEnough, members as candidateMembers, nextStep, parseCandidateKey as parseKey, recentFlakes, type Candidate, type CulpritShare, type FlakeRecord, type Known } from '../../state/bisect.js';
import type { PushApi, PushController, RunResult, Strategy } from './ci-model.js';

/** The key nextStep asks `known` by ("k" or "k+plus", state/bisect.ts candidateKey) back to its candidate. */
export interface PushmanagerOptions {
  /** Runs of the failed build before the search (SPEC §6 `retries`, default 1). */
  readonly retries: number;
  /** Candidates the search may run at once (never more than the runner's free slots; at least one may queue). */
  readonly parallel: number;
  /** Times "master is red" restarts the build before giving up (master never breaks in this model: only flakes say so). */
  readonly masterRedRestarts: number;
  /**
   * Once the job is known to flake, every red candidate runs once more before the search believes it:
   * the build's retry rule applied to the search's own runs. Not what state/bisect.ts does: a variant
   * that prices, in runs, what believing one red run saves and what it costs (issue 16's targets).
   */
  readonly retestRed: boolean;
  /**
   * recent (what state/bisection.ts does): the flake rate of the newest runs (state/bisect.ts
   * recentFlakes). all: of every run since the first push, to price what reading the newest runs saves
   * when a job starts to flake.
   */
  readonly flakeHistory: 'recent' | 'all';
}

export function pushmanagerStrategy(o: Partial<PushmanagerOptions> = {}): Strategy {
  const opts: PushmanagerOptions = { retries: 1, parallel: 1, masterRedRestarts: 3, retestRed: false, flakeHistory: 'recent', ...o };
  // As the server reads the board (state/bisection.ts flakeRecord): per push, the job's runs on trees it passed, and their failures.
  const history: FlakeHistory = { pushes: [], requests: 0, culprits: 0 };
  return {
    name: `Pushmanager (retry ${opts.retries}, bisect${opts.parallel > 1 ? ` ×${opts.parallel}` : ''}${opts.retestRed ? ', every red run twice' : ''}${opts.flakeHistory === 'all' ? ', flake rate of all runs' : ''})`,
    start: (api) => new PushmanagerPush(api, opts, history),
  };
}

/** The job's flake records (one per push, oldest first) and share of culprits, kept across the day's pushes as the board keeps them. */
type Tally = { -readonly [K in keyof FlakeRecord]: FlakeRecord[K] };
type FlakeHistory = { pushes: Tally[] } & { -readonly [K in keyof CulpritShare]: CulpritShare[K] };

/** The record the server reads: the newest pushes' runs, up to its window. */
function* newestFirst(pushes: readonly Tally[]): Generator<FlakeRecord> {
  for (let i = pushes.length - 1; i >= 0; i--) yield pushes[i]!;
}

class PushmanagerPush implements PushController {
  /** Results by the requests a build holds: a candidate of a later search that holds the same requests reuses them. */
  private readonly known = new Map<string, { passed: number; failed: number; pending: number }>();
  private phase: 'build' | 'search' | 'done' = 'build';
  private wholeFails = 0;
  /** The branch the search runs on (fixed while it runs) and its candidate runs. */
  private branch: readonly number[] = [];
  private searchRuns: number[] = [];
  private restarts = 0;

  constructor(
    private readonly api: PushApi,
    private readonly o: PushmanagerOptions,
    private readonly history: FlakeHistory,
  ) {}

  /** This push's runs on trees that passed, and their failures. */
  private readonly tally: Tally = { runs: 0, failed: 0 };

  begin(): void {
    this.history.pushes.push(this.tally);
    this.history.requests += this.api.members.length;
    this.build();
  }

  private entry(ms: readonly number[]) {
    const key = ms.join(',');
    let e = this.known.get(key);
    if (!e) this.known.set(key, (e = { passed: 0, failed: 0, pending: 0 }));
    return e;
  }

  /** Which requests each run held, so a search's report can leave out its confirming run. */
  private readonly runMembers = new Map<number, string>();

  private run(ms: readonly number[], role: 'whole' | 'candidate'): number {
    this.entry(ms).pending++;
    const id = this.api.run(ms, role);
    this.runMembers.set(id, ms.join(','));
    return id;
  }

  /** A build of the branch as it stands; `failedAlready`: runs of this very tree that failed already (its first attempts). */
  private build(failedAlready = 0): void {
    if (!this.api.members.length) {
      this.phase = 'done';
      this.api.giveUp('every request removed');
      return;
    }
    this.phase = 'build';
    this.wholeFails = failedAlready;
    this.run(this.api.members, 'whole');
  }

  ended(r: RunResult): void {
    const e = this.entry(r.members);
    e.pending--;
    if (r.passed) e.passed++;
    else e.failed++;
    // As the server reads it: every run of a tree that passed once counts, its failures as flakes.
    if (r.passed && e.passed === 1) {
      this.tally.runs += e.passed + e.failed;
      this.tally.failed += e.failed;
    } else if (e.passed > 0) {
      this.tally.runs++;
      if (!r.passed) this.tally.failed++;
    }
    if (this.phase === 'done') return;
    if (r.role === 'whole' && this.phase === 'build') {
      if (r.passed) {
        this.phase = 'done';
        this.api.green();
        return;
      }
      this.wholeFails++;
      if (this.wholeFails <= this.o.retries) {
        this.run(this.api.members, 'whole');
        return;
      }
      this.phase = 'search';
      this.branch = [...this.api.members];
      this.searchRuns = [];
    }
    this.think();
  }

  room(): void {
    if (this.phase === 'search') this.think();
  }

  private think(): void {
    if (this.phase !== 'search') return;
    const branch = this.branch;
    const toMembers = (c: Candidate) => candidateMembers(c).map((i) => branch[i]!);
    const known = (key: string): Known | undefined => {
      const e = this.known.get(toMembers(parseKey(key)).join(','));
      return e && { passed: e.passed, failed: e.failed, pending: e.pending > 0 };
    };
    let inFlight = 0;
    for (const e of this.known.values()) inFlight += e.pending;
    const capacity = Math.max(0, Math.min(this.o.parallel, Math.max(1, this.api.free())) - inFlight);
    const record = this.o.flakeHistory === 'all' ? this.history.pushes.reduce((a, t) => ({ runs: a.runs + t.runs, failed: a.failed + t.failed }), { runs: 0, failed: 0 }) : recentFlakes(newestFirst(this.history.pushes));
    const flaky = flakesEnough(record);
    if (this.o.retestRed && flaky) {
      const whole = branch.join(',');
      for (const [key, e] of this.known) {
        const ms = key === '' ? [] : key.split(',').map(Number);
        if (key === whole || e.failed !== 1 || e.passed > 0 || e.pending > 0 || !ms.every((m) => branch.includes(m))) continue;
        if (capacity > 0) this.searchRuns.push(this.run(ms, 'candidate'));
        return;
      }
    }
    const step = nextStep({ n: branch.length, known, capacity, flaky, spacing: culpritSpacing(this.history) });
    switch (step.type) {
      case 'test':
        for (const c of step.candidates) this.searchRuns.push(this.run(toMembers(c), 'candidate'));
        return;
      case 'wait':
        return;
      case 'culprit':
      case 'pair': {
        // Of a pair, the later one goes: the earlier request passed with everything before it.
        const culprit = branch[step.index]!;
        const i = step.index;
        const evidence: Candidate[] = step.type === 'pair' ? [{ k: i + 1 }, { k: step.partner + 1, plus: i }] : i === 0 ? [{ k: 1 }, { k: branch.length, without: 0 }] : [{ k: i + 1 }, { k: 0, plus: i }, { k: branch.length, without: i }];
        // The run of the branch without it is the new deploy branch's test (the rebuild's, in the
        // other strategies): counted in the runs to green, not in the runs that named the culprit.
        const rest = toMembers({ k: branch.length, without: i }).join(',');
        const naming = this.searchRuns.filter((id) => this.runMembers.get(id) !== rest);
        this.api.searched({ n: branch.length, runs: naming, verdict: step.type, removed: culprit, evidence: evidence.map(toMembers) });
        this.api.remove(culprit);
        this.history.culprits++;
        // As the server does (state/bisection.ts): the branch without the culprit ran green in the
        // search, so it is the new deploy branch as it is, already tested; no rebuild run.
        if (step.rest === 'passed' && this.entry(this.api.members).passed > 0) {
          this.phase = 'done';
          this.api.green();
          return;
        }
        // Red without it (a second red request further on): that candidate is the new deploy branch
        // too, and its failed run counts as the build's first, so only the retry runs (state/job-queue.ts
        // queues a retry of the candidate's failed job): one run, not a rebuild's two.
        this.build(step.rest === 'failed' && this.o.retries > 0 && this.entry(this.api.members).failed > 0 ? 1 : 0);
        return;
      }
      case 'master-red':
        this.api.searched({ n: branch.length, runs: this.searchRuns, verdict: 'master-red', removed: null, evidence: [] });
        if (++this.restarts > this.o.masterRedRestarts) {
          this.phase = 'done';
          this.api.giveUp('master red');
        } else this.build();
        return;
      case 'green':
        this.phase = 'done';
        this.api.green();
        return;
    }
  }
}

/** Retest the whole batch until it passes (Tide's failure mode), at most `cap` runs a push. */
export function retestStrategy(cap = 20): Strategy {
  return {
    name: `Retest until green (Tide, cap ${cap})`,
    start: (api) => {
      let runs = 0;
      const go = () => {
        runs++;
        api.run(api.members, 'whole');
      };
      return {
        begin: go,
        ended: (r) => {
          if (r.passed) api.green();
          else if (runs < cap) go();
          else api.giveUp(`still red after ${cap} runs`);
        },
        room: () => undefined,
      };
    },
  };
}

/** Remove the last accepted request and build again, until green or empty (a naive train). */
export function removeLastStrategy(): Strategy {
  return {
    name: 'Remove the last and retry',
    start: (api) => ({
      begin: () => {
        if (api.members.length) api.run(api.members, 'whole');
        else api.giveUp('empty push');
      },
      ended: (r) => {
        if (r.passed) return api.green();
        api.remove(api.members[api.members.length - 1]!);
        if (api.members.length) api.run(api.members, 'whole');
        else api.giveUp('every request removed');
      },
      room: () => undefined,
    }),
  };
}

/** One request per build, in merge order, on top of those that passed; a red one is dropped (marge-bot, Kodiak). */
export function serialStrategy(): Strategy {
  return {
    name: 'One per build (serial)',
    start: (api) => {
      const queue = [...api.members];
      const kept: number[] = [];
      let current = -1;
      const next = () => {
        const j = queue.shift();
        if (j === undefined) return kept.length ? api.green() : api.giveUp('every request removed');
        current = j;
        api.run([...kept, j], 'whole');
      };
      return {
        begin: next,
        ended: (r) => {
          if (r.passed) kept.push(current);
          else api.remove(current);
          next();
        },
        room: () => undefined,
      };
    },
  };
}

/** The four, side by side, in the report's order. */
export function allStrategies(parallel = 1): Strategy[] {
  return [pushmanagerStrategy({ parallel }), retestStrategy(), removeLastStrategy(), serialStrategy()];
}
