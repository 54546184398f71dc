// The bench scripts' command lines, as README and docs/operations.md / docs/bisection.md tell an operator to
// run them (`npm run simulate -- --help` …): --help prints every option and exits 0 without running anything;
// an unknown option exits 2 before a run of minutes starts. Needs the build (dist/).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

const bench = (script: string, args: readonly string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [join(process.cwd(), 'dist', 'bench', script), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });

describe('bench scripts: --help and bad options', () => {
  it('simulate --help lists the day and the CI model options docs/bisection.md uses, and exits 0', async () => {
    const r = await bench('simulate.js', ['--help']);
    expect(r.code).toBe(0);
    for (const o of ['--engineers', '--hours', '--speedup', '--kills', '--generator', '--ci-only', '--ci-days', '--ci-report', '--flake-rate', '--breaking-rate', '--ci-slots', '--ci-minutes', '--ci-parallel'])
      expect(r.stdout).toContain(o);
    expect(r.stderr).not.toMatch(/unknown option/);
  });

  it('capacity --help lists the options docs/operations.md uses, and exits 0', async () => {
    const r = await bench('capacity.js', ['--help']);
    expect(r.code).toBe(0);
    for (const o of ['--steps', 'wide', '--step-seconds', '--stop-after-misses', '--profile', '--report']) expect(r.stdout).toContain(o);
    expect(r.stderr).toBe('');
  });

  it('fuzz --help says what it runs and does not start vitest', async () => {
    const r = await bench('fuzz-long.js', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: npm run fuzz/);
    expect(r.stdout).toContain('FUZZ_SEED');
    expect(r.stdout + r.stderr).not.toMatch(/vitest\/\d/);
  });

  it('bench --help prints its options and runs no suite; an unknown option or suite exits 2 and writes nothing', async () => {
    const out = join(await tempDir(), 'latest.md');
    const help = await bench('run-all.js', ['--help', '--out', out]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--only SUITE/);
    expect(help.stdout).toContain('intake, rebuild, conflicts');
    expect(help.stderr).not.toMatch(/bench: intake/);
    const bad = await bench('run-all.js', ['--bogus', '--out', out]);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toMatch(/unknown option --bogus/);
    const noSuite = await bench('run-all.js', ['--only', 'intak', '--out', out]);
    expect(noSuite.code).toBe(2);
    expect(noSuite.stderr).toMatch(/no suite intak \(there are: intake/);
    expect(existsSync(out)).toBe(false);
  });
});
