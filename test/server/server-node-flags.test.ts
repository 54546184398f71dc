// The server's Node flags (a smaller V8 young generation, see docs/decisions.md) are given in three
// places: `npm start`, the systemd unit, and the benchmarks' server process, which must measure the
// server users run. They must not drift apart.
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
