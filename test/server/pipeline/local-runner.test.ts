// The local runner with real jobs: shell scripts committed in a real work repo and pushed to a real
// bare repository (the managed repo's stand-in), run as real process groups.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { GitCli } from '../../../server/git/git-cli.js';
import { LocalRunner, type LocalJobSpec, type LocalJobUpdate, type LocalRunnerOptions } from '../../../server/pipeline/local-runner.js';
import { truncationMarker } from '../../../server/pipeline/job-log.js';
import { bootId, groupMembers, killOrphanGroup, procStat } from '../../../server/pipeline/process-group.js';
import { fixedEnv } from '../../helpers/git-fixtures.js';
import { waitFor } from '../../helpers/servers/server-process.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

const SCRIPTS: Record<string, string> = {
  'pass.sh': 'echo "hello from $PUSHMANAGER_JOB_SHA"\n',
  'fail.sh': 'echo "about to fail" >&2\nexit 3\n',
  'sleep.sh': 'echo sleeping\nsleep 30\necho woke\n',
  // Forks a child that ignores SIGTERM and reports its pid; the script itself then waits.
  'stubborn.sh': 'sh -c \'trap "" TERM; while :; do sleep 0.05; done\' &\necho "child-pid=$!"\nwait\n',
  // Exits at once, leaving a child behind in its group.
  'leaves-child.sh': 'sleep 30 &\necho "child-pid=$!"\nexit 0\n',
  'env.sh': 'env\n',
  'where.sh': 'pwd\ncat version.txt\nls -a\n',
  'big.sh': 'seq 1 20000\n',
  'slow-lines.sh': 'echo first\nsleep 0.5\necho second\nsleep 0.5\necho third\n',
  'args.sh': 'for a in "$@"; do echo "arg=[$a]"; done\n',
};

let bare: string, dataRoot: string, sha1: string, sha2: string;
const runners: LocalRunner[] = [];
const groups: number[] = [];

beforeAll(async () => {
  const work = await tempDir('pm-runner-src-');
  bare = await tempDir('pm-runner-bare-');
  dataRoot = await tempDir('pm-runner-data-');
  const g = new GitCli(work, fixedEnv());
  await g.run(['init', '-q', '--initial-branch=master', '.']);
  await new GitCli(bare, fixedEnv()).run(['init', '-q', '--bare', '.']);
  for (const [name, body] of Object.entries(SCRIPTS)) {
    await writeFile(join(work, name), `#!/bin/sh\n${body}`);
    await chmod(join(work, name), 0o755);
  }
  await writeFile(join(work, 'version.txt'), 'v1\n');
  await g.run(['add', '.']);
  await g.run(['commit', '-q', '-m', 'v1']);
  sha1 = await g.out(['rev-parse', 'HEAD']);
  await writeFile(join(work, 'version.txt'), 'v2\n');
  await g.run(['commit', '-q', '-am', 'v2']);
  sha2 = await g.out(['rev-parse', 'HEAD']);
  await g.run(['push', '-q', bare, 'master']);
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
  for (const pid of strays) {
    // Only if it is still the script's child: same group as a job would have, and not reused.
    if (!gone(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await removeTempDirs();
});

let n = 0;
async function makeRunner(opts: Partial<LocalRunnerOptions> = {}): Promise<{ runner: LocalRunner; updates: LocalJobUpdate[]; dataDir: string }> {
  const dataDir = join(dataRoot, `d${++n}`);
  await mkdir(dataDir);
  const updates: LocalJobUpdate[] = [];
  const runner = new LocalRunner({ repoDir: bare, dataDir, concurrency: 2, killGraceMs: 300, log: { maxBytes: 1024 * 1024, tailBytes: 64 * 1024, retentionDays: 30 }, onUpdate: (u) => updates.push(u), ...opts });
  runners.push(runner);
  return { runner, updates, dataDir };
}

let ids = 0;
const job = (run: string[], extra: Partial<LocalJobSpec> = {}): LocalJobSpec => ({ id: `j${++ids}`, name: 'test', sha: sha2, push: 7, branch: 'deploy/push-7', run, timeoutSec: 60, ...extra });
const logOf = async (dataDir: string, r: { log: string }) => readFile(join(dataDir, r.log), 'utf8');
/** A pid is gone when there is no such process or only its zombie is left (no one reaped it yet). */
const gone = (pid: number) => {
  const s = procStat(pid);
  return s === null || s.state === 'Z';
};
/** The pid a script printed; remembered so that a failing test still leaves no process behind. */
const childPid = (log: string) => {
  const pid = Number(/child-pid=(\d+)/.exec(log)?.[1]);
  if (pid > 1) strays.add(pid);
  return pid;
};
const strays = new Set<number>();

describe('local runner', () => {
  it('a passing job: exit 0, its output in the log, started then finished reported', async () => {
    const { runner, updates, dataDir } = await makeRunner();
    const spec = job(['./pass.sh']);
    runner.submit(spec);
    const r = await runner.result(spec.id);
    expect(r).toMatchObject({ state: 'passed', exitCode: 0, log: `jobs/logs/${spec.id}.log` });
    expect(await logOf(dataDir, r)).toContain(`hello from ${sha2}`);
    expect(updates.map((u) => u.type)).toEqual(['started', 'finished']);
    const started = updates[0] as Extract<LocalJobUpdate, { type: 'started' }>;
    expect(started.pgid).toBeGreaterThan(1);
    expect(started.bootId).toBe(bootId());
  });

  it('a failing job: the exit code and stderr in the log', async () => {
    const { runner, dataDir } = await makeRunner();
    const spec = job(['./fail.sh']);
    runner.submit(spec);
    const r = await runner.result(spec.id);
    expect(r).toMatchObject({ state: 'failed', exitCode: 3, reason: 'exit code 3' });
    expect(await logOf(dataDir, r)).toContain('about to fail');
  });

  it('arguments are passed as given, placeholders replaced whole, never through a shell', async () => {
    const { runner, dataDir } = await makeRunner();
    const spec = job(['./args.sh', '{sha}', '{push}', '{branch}', '{env}', '$HOME; echo pwned', '*'], { env: 'stage a' });
    runner.submit(spec);
    const log = await logOf(dataDir, await runner.result(spec.id));
    expect(log.split('\n').filter((l) => l.startsWith('arg='))).toEqual([`arg=[${sha2}]`, 'arg=[7]', 'arg=[deploy/push-7]', 'arg=[stage a]', 'arg=[$HOME; echo pwned]', 'arg=[*]']);
  });

  it('runs in a checkout of exactly the SHA under the data dir, removed after', async () => {
    const { runner, dataDir } = await makeRunner();
    const spec = job(['./where.sh'], { sha: sha1 });
    runner.submit(spec);
    const r = await runner.result(spec.id);
    const [pwd, version, ...entries] = (await logOf(dataDir, r)).split('\n').slice(1);
    expect(pwd).toBe(join(dataDir, 'jobs', 'work', spec.id, 'src'));
    expect(version).toBe('v1'); // the bare repo's master is at v2
    expect(entries).not.toContain('.git');
    expect(await readdir(join(dataDir, 'jobs', 'work'))).toEqual([]);
    // The managed repository is only read: no worktree, no index written into it.
    expect((await readdir(bare)).sort()).not.toContain('index');
    expect((await readdir(bare)).sort()).not.toContain('worktrees');
  });

  it('a SHA the repository does not have fails the job with the reason, as not run (no red build: nobody is blamed)', async () => {
    const { runner } = await makeRunner();
    const spec = job(['./pass.sh'], { sha: 'f'.repeat(40) });
    runner.submit(spec);
    expect(await runner.result(spec.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^no checkout of f{40}/), notRun: true });
  });

  it('a program that does not exist fails the job with the reason, as not run; one that runs and fails is red', async () => {
    const { runner, dataDir } = await makeRunner();
    const spec = job(['./no-such-script.sh']);
    runner.submit(spec);
    const r = await runner.result(spec.id);
    expect(r).toMatchObject({ state: 'failed', reason: 'cannot start ./no-such-script.sh: ENOENT (not found in the checkout)', notRun: true });
    expect(await logOf(dataDir, r)).toContain('[pushmanager] cannot start ./no-such-script.sh: ENOENT (not found in the checkout)\n');
    const red = job(['sh', '-c', 'exit 3']);
    runner.submit(red);
    expect((await runner.result(red.id)).notRun).toBeUndefined();
  });

  it('the environment carries no server secret: only the allow-list and PUSHMANAGER_JOB_*', async () => {
    // Secrets in this very process's environment, as a server started with them would have.
    const secrets = { PUSHMANAGER_HOOK_SECRET: 'hook-secret-4711', PUSHMANAGER_LDAP_BIND_PASSWORD: 'ldap-pw-4711', LDAP_PASSWORD: 'ldap-pw-0815', GITHUB_TOKEN: 'ghp_secret_4711', AWS_SECRET_ACCESS_KEY: 'aws-4711', NPM_CONFIG_CACHE: '/var/cache/npm' };
    const before = { ...process.env };
    Object.assign(process.env, secrets);
    onTestFinished(() => {
      for (const k of Object.keys(secrets)) if (!(k in before)) delete process.env[k];
    });
    const { runner, dataDir } = await makeRunner({ passEnv: ['NPM_CONFIG_CACHE'] });
    const spec = job(['./env.sh'], { attempt: 2 });
    runner.submit(spec);
    const log = await logOf(dataDir, await runner.result(spec.id));
    for (const secret of ['hook-secret-4711', 'ldap-pw-4711', 'ldap-pw-0815', 'ghp_secret_4711', 'aws-4711']) expect(log).not.toContain(secret);
    const names = log.split('\n').slice(1).filter(Boolean).map((l) => l.split('=')[0]!).filter((k) => k !== 'PWD' && k !== 'SHLVL' && k !== '_' && k !== 'OLDPWD');
    expect(names.sort()).toEqual(['CI', 'HOME', 'LANG', 'NPM_CONFIG_CACHE', 'PATH', 'PUSHMANAGER_JOB_ATTEMPT', 'PUSHMANAGER_JOB_BRANCH', 'PUSHMANAGER_JOB_ID', 'PUSHMANAGER_JOB_NAME', 'PUSHMANAGER_JOB_PUSH', 'PUSHMANAGER_JOB_SHA', 'TMPDIR', ...(process.env.TZ ? ['TZ'] : [])].sort());
    expect(log).toContain(`PUSHMANAGER_JOB_SHA=${sha2}`);
    expect(log).toContain('PUSHMANAGER_JOB_ATTEMPT=2');
    expect(log).toContain(`HOME=${join(dataDir, 'jobs', 'work', spec.id, 'home')}`);
  });

  it('a job over its timeout is killed and fails, saying so', async () => {
    const { runner, dataDir } = await makeRunner();
    const spec = job(['./sleep.sh'], { timeoutSec: 1 });
    runner.submit(spec);
    const r = await runner.result(spec.id);
    expect(r).toMatchObject({ state: 'failed', reason: 'timed out after 1 s', signal: 'SIGTERM' });
    const log = await logOf(dataDir, r);
    expect(log).toContain('sleeping');
    expect(log).not.toContain('woke');
  });

  it('cancel: a running job is killed and ends cancelled; a queued one never starts', async () => {
    const { runner, updates } = await makeRunner({ concurrency: 1 });
    const a = job(['./sleep.sh']), b = job(['./pass.sh']);
    runner.submit(a);
    runner.submit(b);
    await waitFor(() => runner.status(a.id) === 'running', 'job a to run');
    expect(runner.cancel(b.id, 'cancelled by pm')).toBe(true);
    expect(runner.cancel(a.id, 'cancelled by pm')).toBe(true);
    expect(await runner.result(a.id)).toMatchObject({ state: 'cancelled', reason: 'cancelled by pm' });
    expect(await runner.result(b.id)).toMatchObject({ state: 'cancelled', startedAt: null });
    expect(updates.filter((u) => u.id === b.id).map((u) => u.type)).toEqual(['finished']);
    const pgid = (updates.find((u) => u.type === 'started') as Extract<LocalJobUpdate, { type: 'started' }>).pgid;
    expect(gone(pgid)).toBe(true);
    expect(runner.cancel(a.id)).toBe(false);
  });

  it('a child that ignores SIGTERM is killed with SIGKILL after the grace period (cancel and timeout)', async () => {
    const { runner } = await makeRunner();
    const a = job(['./stubborn.sh']), b = job(['./stubborn.sh'], { timeoutSec: 1 });
    runner.submit(a);
    runner.submit(b);
    const chunks: string[] = [];
    const follower = (async () => {
      for await (const c of runner.follow(a.id)) chunks.push(c.toString());
    })();
    const pidA = await waitFor(() => childPid(chunks.join('')) || undefined, 'the child pid in the log');
    expect(gone(pidA)).toBe(false);
    runner.cancel(a.id);
    expect(await runner.result(a.id)).toMatchObject({ state: 'cancelled' });
    await follower;
    expect(gone(pidA)).toBe(true);
    const rb = await runner.result(b.id);
    expect(rb).toMatchObject({ state: 'failed', reason: 'timed out after 1 s' });
  });

  it('children a finished job left in its group are ended too', async () => {
    const { runner, dataDir } = await makeRunner();
    const spec = job(['./leaves-child.sh']);
    runner.submit(spec);
    const r = await runner.result(spec.id);
    expect(r.state).toBe('passed');
    const pid = childPid(await logOf(dataDir, r));
    expect(pid).toBeGreaterThan(1);
    expect(gone(pid)).toBe(true);
  });

  it('runs at most `concurrency` jobs at once, the rest queued in order', async () => {
    const specs = [1, 2, 3, 4, 5].map(() => job(['sh', '-c', 'sleep 0.3']));
    let live = 0, most = 0;
    const { runner: r2 } = await makeRunner({ concurrency: 2, onUpdate: (u) => {
      if (u.type === 'started') most = Math.max(most, ++live);
      else if (u.startedAt) live--;
    } });
    for (const s of specs) r2.submit(s);
    expect(specs.map((s) => r2.status(s.id))).toEqual(['checkout', 'checkout', 'queued', 'queued', 'queued']);
    const results = await Promise.all(specs.map((s) => r2.result(s.id)));
    expect(results.map((r) => r.state)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
    expect(most).toBe(2);
  });

  it('the log is bounded: head and tail kept, a marker says how much was left out', async () => {
    const { runner, dataDir } = await makeRunner({ log: { maxBytes: 16_384, tailBytes: 4_096, retentionDays: 30 } });
    const spec = job(['./big.sh']);
    runner.submit(spec);
    const r = await runner.result(spec.id);
    const log = await logOf(dataDir, r);
    const full = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    const header = log.slice(0, log.indexOf('\n') + 1);
    const produced = header.length + full.length;
    expect(Buffer.byteLength(log)).toBe(16_384 + truncationMarker(produced - 16_384).length);
    expect(log.slice(header.length)).toMatch(/^1\n2\n3\n/);
    expect(log).toMatch(/\n19999\n20000\n$/);
    expect(log).toContain(truncationMarker(produced - 16_384));
  });

  it('follow: lines reach a follower while the job still runs, and the follow ends with the job', async () => {
    const { runner } = await makeRunner();
    const spec = job(['./slow-lines.sh']);
    runner.submit(spec);
    const got: { text: string; status: string | undefined }[] = [];
    for await (const c of runner.follow(spec.id)) got.push({ text: c.toString(), status: runner.status(spec.id) });
    const text = got.map((g) => g.text).join('');
    expect(text).toMatch(/first\nsecond\nthird\n$/);
    expect(got.find((g) => g.text.includes('first'))!.status).toBe('running');
    // After the end, following gives the kept log at once.
    const again: string[] = [];
    for await (const c of runner.follow(spec.id)) again.push(c.toString());
    expect(again.join('')).toBe(text);
  });

  it('logs older than the retention are pruned; work dirs a crash left are swept', async () => {
    const { runner, dataDir } = await makeRunner({ log: { maxBytes: 1 << 20, tailBytes: 1 << 16, retentionDays: 7 } });
    const old = job(['./pass.sh']), fresh = job(['./pass.sh']);
    runner.submit(old);
    runner.submit(fresh);
    await Promise.all([runner.result(old.id), runner.result(fresh.id)]);
    const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000);
    await utimes(join(dataDir, runner.logPath(old.id)), eightDaysAgo, eightDaysAgo);
    expect(await runner.pruneLogs()).toEqual([old.id]);
    await expect(stat(join(dataDir, runner.logPath(fresh.id)))).resolves.toBeTruthy();
    await mkdir(join(dataDir, 'jobs', 'work', 'j-crashed', 'src'), { recursive: true });
    expect(await runner.sweepWork()).toEqual(['j-crashed']);
    expect(await readdir(join(dataDir, 'jobs', 'work'))).toEqual([]);
  });

  it('refuses an id that could leave the jobs dir, and a second submit of an id', async () => {
    const { runner } = await makeRunner();
    expect(() => runner.submit(job(['./pass.sh'], { id: '../evil' }))).toThrow(expect.objectContaining({ code: 'pipeline-bad-job-id' }));
    const spec = job(['./pass.sh']);
    runner.submit(spec);
    expect(() => runner.submit(spec)).toThrow(expect.objectContaining({ code: 'pipeline-job-exists' }));
    await runner.result(spec.id);
  });
});

describe('killOrphanGroup (after a server crash)', () => {
  it('a server SIGKILLed mid-job leaves its job running; the recorded group is killed at the next start, the work dir swept', async () => {
    const dataDir = join(dataRoot, `crash${++n}`);
    await mkdir(dataDir);
    const spec = job(['./stubborn.sh']);
    const host = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'runner-host.ts'), bare, dataDir, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    host.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const started = await waitFor(() => out.split('\n').map((l) => (l ? (JSON.parse(l) as LocalJobUpdate) : null)).find((u) => u?.type === 'started') as Extract<LocalJobUpdate, { type: 'started' }> | undefined, 'the job to start', 30_000);
    const log = join(dataDir, started.log);
    const child = await waitFor(() => {
      try {
        return childPid(readFileSync(log, 'utf8')) || undefined;
      } catch {
        return undefined;
      }
    }, 'the child pid in the log');
    groups.push(started.pgid);
    const exited = new Promise((r) => host.once('exit', r));
    host.kill('SIGKILL');
    await exited;
    // The server is gone; its job (the script and the child that ignores SIGTERM) is not.
    expect(gone(started.pgid)).toBe(false);
    expect(gone(child)).toBe(false);
    const r = await killOrphanGroup({ pgid: started.pgid, startTicks: started.startTicks, bootId: started.bootId }, 300);
    expect(r.outcome).toBe('killed');
    expect(gone(started.pgid)).toBe(true);
    expect(gone(child)).toBe(true);
    const next = new LocalRunner({ repoDir: bare, dataDir, concurrency: 1, killGraceMs: 300, log: { maxBytes: 1 << 20, tailBytes: 1 << 16, retentionDays: 1 } });
    expect(await next.sweepWork()).toEqual([spec.id]);
  });

  /** A process group like a job's, started by the test: a shell with two sleeping children. */
  async function orphanGroup(): Promise<{ pgid: number; startTicks: number; pids: () => number[] }> {
    const child = spawn('sh', ['-c', 'sleep 30 & sleep 30 & echo ready; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    child.unref();
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    const pgid = child.pid!;
    groups.push(pgid);
    const pids = () => (procStat(pgid) ? [pgid] : []);
    return { pgid, startTicks: procStat(pgid)!.startTicks, pids };
  }

  it('kills a recorded group whose leader is the same process', async () => {
    const g = await orphanGroup();
    const r = await killOrphanGroup({ pgid: g.pgid, startTicks: g.startTicks, bootId: bootId() });
    expect(r.outcome).toBe('killed');
    if (r.outcome === 'killed') {
      expect(r.pids).toContain(g.pgid);
      expect(r.pids.length).toBe(3);
      for (const p of r.pids) expect(gone(p)).toBe(true);
    }
  });

  it('never signals a pid that was reused (start time differs)', async () => {
    const g = await orphanGroup();
    expect(await killOrphanGroup({ pgid: g.pgid, startTicks: g.startTicks - 1, bootId: bootId() })).toEqual({ outcome: 'reused', pid: g.pgid });
    expect(gone(g.pgid)).toBe(false);
    process.kill(-g.pgid, 'SIGKILL');
  });

  it('a group recorded on another boot, or already gone, is left alone', async () => {
    const g = await orphanGroup();
    expect(await killOrphanGroup({ pgid: g.pgid, startTicks: g.startTicks, bootId: 'another-boot' })).toEqual({ outcome: 'gone' });
    expect(gone(g.pgid)).toBe(false);
    process.kill(-g.pgid, 'SIGKILL');
    // Every member, not only the leader: the signal reaches them all at once, but each exits in its own time.
    await waitFor(() => gone(g.pgid) && groupMembers(g.pgid).length === 0, 'the group to die');
    expect(await killOrphanGroup({ pgid: g.pgid, startTicks: g.startTicks, bootId: bootId() })).toEqual({ outcome: 'gone' });
  });
});
