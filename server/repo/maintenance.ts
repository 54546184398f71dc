// Keeps the managed repository fast over weeks of pushes. Every push leaves loose objects (the pushed
// commits, state commits, deploy merges, conflict checks' trial merges), and nothing else packs them:
// gc.auto is 0 and receive-pack's own `gc --auto` is off, so that no push pays for a repack on its
// path. Measured on a simulated day: 43,000 loose objects, 191 MB, no pack; a clone took 34 s, and
// 3.2 s after `git repack -d` (4.5 MB). So the server runs git's own housekeeping itself, in the
// background, one run at a time, at a low priority:
//   1. `pack-refs --all --prune`: one packed-refs file instead of a file per pushreq ref, which every
//      push's ref advertisement and connectivity check read;
//   2. `repack -d -l`: the loose objects into a new pack (with -A, every pack into one, when packs
//      pile up, as `gc --auto` does with gc.autoPackLimit);
//   3. `prune --expire`: unreachable loose objects older than PRUNE_EXPIRE (superseded trial merges
//      and builds). Everything the server still uses is either reachable from a ref or younger
//      than that (see KNOWN_OBJECT_TTL_MS in server/git/object-writer.ts); its caches of trial
//      merges are dropped after each run (onRun), since they name unreachable objects.
// git's ref and object locking makes these safe beside pushes and state commits.
import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { GitCli } from '../git/git-cli.js';

/** Unreachable objects younger than this are kept: far longer than any write or check in flight. */
export const PRUNE_EXPIRE = '2.days.ago';

export interface MaintenanceOptions {
  readonly git: GitCli;
  /** Loose objects (estimated) above which a run starts. git's gc.auto default is 6,700; a server that answers fetches all day wants fewer. */
  readonly looseLimit?: number;
  /** Packs above which the run repacks everything into one (git's gc.autoPackLimit default). */
  readonly packLimit?: number;
  /** Fan-out directories sampled for the loose estimate (git's own samples 1 of 256); 256 counts exactly. */
  readonly sampleDirs?: number;
  /** How often to look (ms); 0: only when maybeRun() is called. */
  readonly intervalMs?: number;
  /** Loose refs above which `pack-refs` alone runs (see maybePackRefs). */
  readonly looseRefLimit?: number;
  /** How often to count loose refs (ms); 0: only when maybePackRefs() is called. */
  readonly refsIntervalMs?: number;
  /** Nice level of git's processes. */
  readonly nice?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** After each run, ok or not. */
  readonly onRun?: (run: MaintenanceRun) => void;
}

export interface MaintenanceRun {
  readonly ok: boolean;
  readonly ms: number;
  readonly before: RepoObjectCounts;
  readonly after: RepoObjectCounts;
  /** Whether every pack was rewritten into one (-A). */
  readonly full: boolean;
  readonly error?: string;
}

export interface RepoObjectCounts {
  /** Estimated loose objects, from a sample of fan-out directories. */
  readonly loose: number;
  readonly packs: number;
}

const LOOSE_NAME = /^[0-9a-f]{38}$/;
/** After a run that left the estimate over the limit (young unreachable objects), wait this long. */
const BACKOFF_MS = 60 * 60 * 1000;

export class RepoMaintenance {
  private running: Promise<MaintenanceRun> | null = null;
  private packingRefs: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private refsTimer: NodeJS.Timeout | null = null;
  private readonly looseRefLimit: number;
  /** `pack-refs` runs of their own (maybePackRefs) since start. */
  refPacks = 0;
  private notBefore = 0;
  private readonly looseLimit: number;
  private readonly packLimit: number;
  private readonly sampleDirs: number;
  /** Runs finished since start, ok or not. */
  runs = 0;

  constructor(private readonly o: MaintenanceOptions) {
    this.looseLimit = o.looseLimit ?? 2000;
    this.packLimit = o.packLimit ?? 50;
    this.sampleDirs = Math.min(256, Math.max(1, o.sampleDirs ?? 16));
    this.looseRefLimit = o.looseRefLimit ?? 500;
  }

  /** Starts the periodic look (and looks once now: a restarted server may find a day's loose objects). */
  start(): void {
    const every = this.o.intervalMs ?? 60_000;
    void this.maybeRun();
    if (every > 0) {
      this.timer = setInterval(() => void this.maybeRun(), every);
      this.timer.unref();
    }
    const refsEvery = this.o.refsIntervalMs ?? 5_000;
    if (refsEvery > 0) {
      this.refsTimer = setInterval(() => void this.maybePackRefs(), refsEvery);
      this.refsTimer.unref();
    }
  }

  /**
   * Loose ref files under refs/, counted up to `stopAt` + 1. Every receive-pack (a push's GET and POST, and
   * its connectivity check) reads every ref, hidden ones too, and a loose one is a file to open: 3,500 loose
   * refs made an advertisement cost 9.6 ms against 1.4 ms packed (issue 17). Archive refs (one per
   * discarded request) and new pushreq refs pile up far faster than loose objects trip a full run at a
   * busy hour.
   */
  looseRefs(stopAt = this.looseRefLimit): number {
    let n = 0;
    const walk = (dir: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (n > stopAt) return;
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (!e.name.endsWith('.lock')) n++;
      }
    };
    walk(join(this.o.git.dir, 'refs'));
    return n;
  }

  /** `git pack-refs --all --prune` alone when loose refs are over their limit and no run is going; resolves when done. */
  async maybePackRefs(): Promise<boolean> {
    // After close(), notBefore is for ever.
    if (this.running || this.packingRefs || this.notBefore === Number.POSITIVE_INFINITY) return false;
    if (this.looseRefs() <= this.looseRefLimit) return false;
    this.packingRefs = this.o.git
      .run(['pack-refs', '--all', '--prune'], { nice: this.o.nice ?? 10 })
      .then(() => void this.refPacks++)
      .catch((e: unknown) => this.o.log?.('warn', `packing refs failed (tried again in a few seconds): ${(e as Error).message}`))
      .finally(() => {
        this.packingRefs = null;
      });
    await this.packingRefs;
    return true;
  }

  /** Loose objects (estimated from evenly spaced fan-out directories) and packs, read from the object directory. */
  counts(): RepoObjectCounts {
    const objects = join(this.o.git.dir, 'objects');
    let sampled = 0;
    const step = 256 / this.sampleDirs;
    for (let k = 0; k < this.sampleDirs; k++) {
      const dir = Math.floor(k * step).toString(16).padStart(2, '0');
      try {
        for (const name of readdirSync(join(objects, dir))) if (LOOSE_NAME.test(name)) sampled++;
      } catch {
        /* no such fan-out directory yet (or prune removed it): none there */
      }
    }
    let packs = 0;
    try {
      for (const name of readdirSync(join(objects, 'pack'))) if (name.endsWith('.pack')) packs++;
    } catch {
      /* no pack directory yet */
    }
    return { loose: Math.round((sampled * 256) / this.sampleDirs), packs };
  }

  /** Whether the repository is over a limit (and not backing off after a run that could not help). */
  due(): boolean {
    if (Date.now() < this.notBefore) return false;
    const c = this.counts();
    return c.loose > this.looseLimit || c.packs > this.packLimit;
  }

  /** Runs when due and none is running; null when it did not run. */
  async maybeRun(): Promise<MaintenanceRun | null> {
    if (this.running || !this.due()) return null;
    return this.run();
  }

  /** One run now (or the one already running). */
  run(): Promise<MaintenanceRun> {
    this.running ??= this.runOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Stops looking and waits for a run in progress (git's steps are short and each is safe to stop, but a clean finish leaves no temp pack). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.refsTimer) clearInterval(this.refsTimer);
    this.timer = null;
    this.refsTimer = null;
    // Closed before waiting: a maybePackRefs() or maybeRun() while the pack under way ends starts nothing.
    this.notBefore = Number.POSITIVE_INFINITY;
    await this.packingRefs;
    await this.running?.catch(() => undefined);
  }

  private async runOnce(): Promise<MaintenanceRun> {
    // Two pack-refs at once: the second finds packed-refs.lock taken and fails.
    await this.packingRefs;
    const started = performance.now();
    const before = this.counts();
    const full = before.packs > this.packLimit;
    const nice = this.o.nice ?? 10;
    let result: MaintenanceRun;
    try {
      await this.o.git.run(['pack-refs', '--all', '--prune'], { nice });
      await this.o.git.run(full ? ['repack', '-d', '-l', '-q', '-A', `--unpack-unreachable=${PRUNE_EXPIRE}`] : ['repack', '-d', '-l', '-q'], { nice });
      await this.o.git.run(['prune', `--expire=${PRUNE_EXPIRE}`], { nice });
      const after = this.counts();
      result = { ok: true, ms: performance.now() - started, before, after, full };
      if (after.loose > this.looseLimit) {
        // What is left is young and unreachable: running again soon would only walk the repository for nothing.
        this.notBefore = Date.now() + BACKOFF_MS;
        this.o.log?.('warn', `repository maintenance: ${after.loose} loose objects remain (unreachable, younger than ${PRUNE_EXPIRE}); next look in an hour`);
      }
      this.o.log?.('info', `repository maintenance: loose objects ${before.loose} -> ${after.loose}, packs ${before.packs} -> ${after.packs}${full ? ' (all packs into one)' : ''} in ${Math.round(result.ms)} ms`);
    } catch (e) {
      const error = (e as Error).message;
      this.notBefore = Date.now() + BACKOFF_MS;
      result = { ok: false, ms: performance.now() - started, before, after: this.counts(), full, error };
      this.o.log?.('error', `repository maintenance failed (next try in an hour): ${error}`);
    }
    this.runs++;
    try {
      this.o.onRun?.(result);
    } catch {
      /* a listener's failure is not the repository's */
    }
    return result;
  }
}
