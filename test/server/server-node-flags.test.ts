// The server's Node flags (a smaller V8 young generation, see docs/decisions.md) are given in three
// places: `npm start`, the systemd unit, and the benchmarks' server process, which must measure the
// server users run. They must not drift apart.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../bench/lib/proc.js';

const root = join(__dirname, '..', '..');

describe('the server runs with the same Node flags everywhere', () => {
  it('npm start, the systemd unit and the benchmarks agree', () => {
    expect(SERVER_NODE_FLAGS.length).toBeGreaterThan(0);
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    const execStart = /^ExecStart=(.*)$/m.exec(readFileSync(join(root, 'docs', 'pushmanager.service'), 'utf8'))?.[1] ?? '';
    const flagsOf = (cmd: string) => cmd.split(/\s+/).filter((w) => w.startsWith('--') && !['--config'].includes(w));
    expect(flagsOf(start.split(' serve')[0]!)).toEqual([...SERVER_NODE_FLAGS]);
    expect(flagsOf(execStart.split(' serve')[0]!)).toEqual([...SERVER_NODE_FLAGS]);
  });
});

/**
 * A small model of the server's memory: ~30 MB live (a board) and large short-lived answers made from
 * it (JSON of hundreds of requests), for `ms`. Prints the process's peak RSS (KiB).
 */
const CHURN = `
const live = new Map();
for (let i = 0; i < 3000; i++) live.set(i, { id: i, title: 'x'.repeat(200) + i, tags: ['a', 'b'], body: Array.from({ length: 40 }, (_, k) => ({ k, v: 'v' + i + '-' + k })) });
let sink = 0;
const t = Date.now();
for (let round = 0; Date.now() - t < Number(process.argv[1]); round++) {
  const view = [];
  for (let i = 0; i < 600; i++) view.push({ ...live.get((i * 7 + round) % 3000), round });
  sink += JSON.stringify(view).length;
  const i = round % 3000;
  live.set(i, { ...live.get(i), title: 'y'.repeat(200) + round });
}
process.stdout.write(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
`;
const peakKb = (ms: number) => Number(execFileSync(process.execPath, [...SERVER_NODE_FLAGS, '-e', CHURN, String(ms)], { encoding: 'utf8' }));

describe.skipIf(process.platform !== 'linux')('the flags keep the garbage small', () => {
  it('allocating ~200 MB a second over ~30 MB live raises the peak RSS by under 25 MB', () => {
    // Default V8 lets the old generation grow to ~4x what is live before a full collection: +47 MB
    // here, which is how the 500-engineer day reached 235 MB with 26 MB live (docs/decisions.md).
    const idle = peakKb(0);
    const busy = peakKb(3000);
    expect((busy - idle) / 1024).toBeLessThan(25);
  }, 30_000);
});
