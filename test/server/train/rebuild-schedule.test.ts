// Background rebuilds of one push never overlap: asked again (once or many times) while one runs, the
// push is built once more after it, with whatever the board says then. Two overlapping builds used to
// both be recorded, the second moving a staged push's deploy SHA. The build itself is replaced by a
// gate here, so the test sees exactly when each one starts and ends; the scheduling is the real one.
import { describe, expect, it } from 'vitest';
import { RebuildScheduler } from '../../../server/train/deploy-builder-service.js';
import { realTimers } from '../../../server/train/timers.js';

function gatedTrain() {
  const runs: { push: number; release: () => void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const started = () => new Promise<void>((r) => setTimeout(r, 30));
  const inFlight = new Set<Promise<unknown>>();
  // The one seam: what a background rebuild does once the scheduler runs it.
  const scheduler = new RebuildScheduler(
    (push: number) =>
      new Promise<void>((release) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs.push({
          push,
          release: () => {
            running--;
            release();
          },
        });
      }),
    {
      timers: realTimers,
      log: () => undefined,
      track: (p) => {
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        return p;
      },
    },
  );
  const train = {
    scheduleRebuild: (push: number) => scheduler.schedule(push),
    idle: async () => {
      while (inFlight.size || scheduler.busy) await Promise.allSettled([...inFlight, new Promise((r) => setTimeout(r, 20))]);
    },
  };
  return { train, runs, started, maxRunning: () => maxRunning };
}

describe('background rebuilds of a push', () => {
  it('run one at a time: requests during a build fold into one more build after it', async () => {
    const { train, runs, started, maxRunning } = gatedTrain();
    train.scheduleRebuild(1);
    train.scheduleRebuild(1); // coalesced with the first (still waiting)
    await started();
    expect(runs.map((r) => r.push)).toEqual([1]);

    for (let i = 0; i < 3; i++) train.scheduleRebuild(1); // while it runs
    await started();
    expect(runs).toHaveLength(1); // no second build beside the first

    runs[0]!.release();
    await started();
    expect(runs).toHaveLength(2); // exactly one more, after it
    runs[1]!.release();
    await train.idle();
    expect(runs).toHaveLength(2);
    expect(maxRunning()).toBe(1);
  });

  it('lets different pushes build side by side', async () => {
    const { train, runs, started, maxRunning } = gatedTrain();
    train.scheduleRebuild(1);
    train.scheduleRebuild(2);
    await started();
    expect(runs.map((r) => r.push).sort()).toEqual([1, 2]);
    expect(maxRunning()).toBe(2);
    for (const r of runs) r.release();
    await train.idle();
  });
});
