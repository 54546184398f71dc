// The faults: the server SIGKILLed at random points of the day (its process group, git children
// included) and restarted. Every actor waits while it is down; after each kill the repository is
// checked as the dead server left it (drift is noted: reconcile's job) and, after the restart, as
// the live server says it is (any disagreement is a violation).
import { sleep } from '../lib/sync.js';
import { checkLive, checkRepo } from './invariants.js';
import type { Measurements } from './measurements.js';
import type { World } from './world.js';

/** When the kills land (real ms from the start): spread over the day, not in its first or last few percent. */
export function killTimes(w: World, realDayMs: number): number[] {
  return Array.from({ length: w.o.kills }, () => realDayMs * (0.03 + w.rnd() * 0.92)).sort((a, b) => a - b);
}

export class Faults {
  constructor(
    readonly w: World,
    private readonly sampler: Measurements,
  ) {}

  async killer(times: number[]): Promise<void> {
    for (const at of times) {
      await sleep(this.w.t0 + at - performance.now());
      if (this.w.stopping) return;
      this.w.up.close();
      await this.sampler.scrape();
      const st = this.w.server.stats();
      if (st) this.sampler.take(st);
      this.sampler.bank();
      await this.w.server.kill();
      this.w.kills++;
      await sleep(300 + this.w.rnd() * 700); // orphaned git processes of the dead server finish or fail
      await checkRepo(this.w, `after kill ${this.w.kills} (before restart)`, { beforeReconcile: true });
      // Stopped (SIGINT) while the server was down: starting it again would leave it behind.
      if (this.w.stopping) return;
      this.w.restartMs.push(await this.w.server.start(60_000));
      this.w.incarnations++;
      await checkLive(this.w, `after restart ${this.w.kills}`);
      this.w.up.open();
    }
  }
}
