// The single writer's queue: one task at a time, waiting tasks by lane (push, command, background)
// and in arrival order within a lane; a failing task neither stops the queue nor loses its error.
import { describe, expect, it } from 'vitest';
import { WriteQueue, type Lane } from '../../../server/app/write-queue.js';

/** A task that records its start and finishes when released. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

describe('WriteQueue', () => {
  it('runs one task at a time; waiting ones go by lane, then in arrival order', async () => {
    const q = new WriteQueue();
    const log: string[] = [];
    const first = gate(log, 'first (command)');
    const p0 = q.run(first.task);
    const queued: [Lane, string][] = [
      ['background', 'conflicts 1'],
      ['command', 'verify'],
      ['push', 'push a'],
      ['background', 'build'],
      ['push', 'push b'],
      ['command', 'accept'],
    ];
    const results = queued.map(([lane, name]) => q.run(async () => (log.push(name), name), lane));
    expect(q.length).toBe(7);
    expect(log).toEqual(['first (command)']); // the rest wait for it
    first.release();
    expect(await Promise.all([p0, ...results])).toEqual(['first (command)', ...queued.map(([, n]) => n)]);
    expect(log).toEqual(['first (command)', 'push a', 'push b', 'verify', 'accept', 'conflicts 1', 'build']);
    expect(q.length).toBe(0);
  });

  it('never runs two at once, whatever the lanes', async () => {
    const q = new WriteQueue();
    const log: string[] = [];
    let running = 0;
    let max = 0;
    const lanes: Lane[] = ['push', 'command', 'background'];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        q.run(async () => {
          running++;
          max = Math.max(max, running);
          await new Promise((r) => setTimeout(r, i % 3));
          log.push(String(i));
          running--;
        }, lanes[i % 3]),
      ),
    );
    expect(max).toBe(1);
    expect(log).toHaveLength(30);
  });

  it('passes a failure to its caller and goes on with the next task', async () => {
    const q = new WriteQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const pa = q.run(a.task);
    const failing = q.run(async () => {
      throw new Error('CAS lost 8 times');
    }, 'push');
    const throwingSync = q.run((() => {
      throw new Error('thrown before any await');
    }) as () => Promise<never>, 'push');
    const after = q.run(async () => 'after', 'background');
    a.release();
    await expect(failing).rejects.toThrow('CAS lost 8 times');
    await expect(throwingSync).rejects.toThrow('thrown before any await');
    expect(await pa).toBe('a');
    expect(await after).toBe('after');
    expect(q.length).toBe(0);
  });
});
