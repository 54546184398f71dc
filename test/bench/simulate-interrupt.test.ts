// `npm run simulate` stopped with SIGINT: the server it started must not outlive it, and the figures so
// far must be written as a partial report (a 2,000-engineer day that cannot keep up is stopped this way).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** Live processes whose command line holds `needle` (the server is started with `--data DIR/data`). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1');
      const state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${name}/status`, 'latin1'))?.[1];
      if (cmd.includes(needle) && state !== 'Z') out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

describe('simulate, stopped with SIGINT', () => {
  const started: number[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });

  it('stops its server by pid and writes the partial report', async () => {
    const out = await mkdtemp(join(tmpdir(), 'pm-sim-int-'));
    const report = join(out, 'report.md');
    const sim = spawn(process.execPath, [join(process.cwd(), 'dist', 'bench', 'simulate.js'), '--engineers', '5', '--hours', '1', '--speedup', '120', '--clones', '2', '--report', report], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.push(sim.pid!);
    let stderr = '';
    sim.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    sim.stdout.resume();
    const exited = new Promise<number | null>((r) => sim.on('exit', (code) => r(code)));
    // The day has begun once the plan is printed; by then the server runs.
    const deadline = Date.now() + 60_000;
    while (!/data in (\S+?);? /.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const runDir = /data in (\S+?);? /.exec(stderr)![1]!;
    dirs.push(out, runDir);
    const dataDir = join(runDir, 'data');
    const server = processesWith(dataDir);
    expect(server.length).toBeGreaterThan(0);
    started.push(...server);
    await new Promise((r) => setTimeout(r, 1500)); // a few pushes
    // As Ctrl-C does: the signal reaches the whole process group, the run's own git children too.
    process.kill(-sim.pid!, 'SIGINT');
    expect(await exited).toBe(130);
    expect(processesWith(dataDir)).toEqual([]);
    expect(existsSync(report)).toBe(true);
    const text = readFileSync(report, 'utf8');
    expect(text).toMatch(/\*\*Interrupted \(SIGINT at simulated minute \d+ of 60/);
    expect(text).toMatch(/\| server RSS, peak .* \| [1-9]\d* MB/);
    // What only the end of the day can say is not claimed.
    expect(text).toMatch(/\| lost \/ duplicated requests \| not counted/);
    expect(text).not.toMatch(/\| master = last certified tag \|[^\n]*\| pass \|/);
    // Tasks the signal cut off (a git child of the run got it) are not correctness violations.
    expect(text).not.toMatch(/task failed/);
  }, 90_000);
});
