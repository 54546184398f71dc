// A red build finds its culprit (issue 16, SPEC §6) end to end: a real server process, real git pushes,
// the local runner. The build job is a script outside the repository that reads the candidate's tree:
// it fails when a BREAKS* marker is in it, when PAIR_A and PAIR_B are both in it, once (the first run
// ever) when FLAKY is, and passing runs wait while a gate file exists, so a test can hold the search
// still and re-push or SIGKILL the server in the middle of it.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../../bench/lib/proc.js';
import type { StatusPush, StatusView } from '../../state/status-view.js';
import { PushmanagerClient } from '../../tui/client.js';
import { startPipelineServer } from '../helpers/pipeline-server.js';
import { cli, commitOnBranch, gitOk } from '../helpers/server-fixture.js';
import { loggedNotices } from '../helpers/notices.js';
import { until } from '../helpers/until.js';

const SCRIPT = `#!/bin/sh
echo "run $PUSHMANAGER_JOB_ID on $PUSHMANAGER_JOB_SHA"
ls
for f in BREAKS*; do if [ -e "$f" ]; then echo "$f present: failing" >&2; exit 3; fi; done
if [ -e PAIR_A ] && [ -e PAIR_B ]; then echo "PAIR_A and PAIR_B together: failing" >&2; exit 4; fi
if [ -e FLAKY ] && [ ! -e "$PM_BISECT_DIR/flaked" ]; then touch "$PM_BISECT_DIR/flaked"; echo "a flaky failure" >&2; exit 5; fi
while [ -e "$PM_BISECT_DIR/gate" ]; do sleep 0.05; done
echo "passed"
`;


describe('bisection: a red build finds its culprit (local runner, real server)', () => {
  let dir: string;
  let server: ServerProcess;
  let work: string;
  let pushNo = 0;
  const pm = () => new PushmanagerClient({ server: server.url, user: 'pm', password: 'pm' });
  const board = async (): Promise<StatusView> => (await pm().board()) as StatusView;
  const pushOf = async (id: number): Promise<StatusPush> => (await board()).pushes.find((p) => p.id === id)!;
  const run = (args: string[]) => cli(server.url, 'pm', args);
  /** The push's accepted requests (a new push also offers the requests earlier scenarios left waiting, as pickmes). */
  const accepted = async (push: number): Promise<number[]> => (await board()).requests.filter((r) => r.push === push && r.state === 'added').map((r) => r.id);
  const gate = () => join(dir, 'gate');
  const notices = (subject: string) => loggedNotices(join(dir, 'data'), subject);
  const bisectRefs = async () => (await gitOk(work, ['ls-remote', 'origin', 'refs/heads/bisect/*'])).trim();
  const concluded = (push: number) =>
    until(`push ${push}'s bisection to end`, async () => {
      const p = await pushOf(push);
      return p.bisection && p.bisection.state !== 'running' ? p : null;
    }, 60_000);

  /** A new push with one request per file set, all accepted in one command; returns the push and the request ids in merge order. */
  async function trainOf(name: string, changes: readonly Record<string, string>[]): Promise<{ push: number; ids: number[] }> {
    const opened = await run(['push', 'open', '--title', name]);
    expect(opened.code, opened.stderr).toBe(0);
    pushNo++;
    const ids: number[] = [];
    for (const [i, files] of changes.entries()) {
      await commitOnBranch(work, `${name}-${i}`, { [`${name}/${i}.txt`]: `${i}\n`, ...files });
      await gitOk(work, ['push', '-q', 'origin', `${name}-${i}:refs/pushreq/${name}-${i}`]);
    }
    const b = await board();
    for (const [i] of changes.entries()) ids.push(b.requests.find((r) => r.ref === `refs/pushreq/${name}-${i}`)!.id);
    const accepted = await run(['push', 'accept', String(pushNo), ...ids.map(String)]);
    expect(accepted.code, accepted.stderr).toBe(0);
    return { push: pushNo, ids };
  }

  async function discard(push: number): Promise<void> {
    const out = await run(['push', 'discard', String(push), '--reason', 'next scenario']);
    expect(out.code, out.stderr).toBe(0);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-bisect-'));
    process.env.PM_BISECT_DIR = dir;
    const script = join(dir, 'build.sh');
    await writeFile(script, SCRIPT);
    const config = join(dir, 'pushmanager.config.yaml');
    await writeFile(
      config,
      [
        'server: { host: 127.0.0.1, port: 7080, dataDir: ./data }',
        'pipeline:',
        '  concurrency: 2',
        '  killGraceSec: 1',
        '  passEnv: [PM_BISECT_DIR]',
        '  retries: 1',
        '  onFailure: bisect',
        '  autoRemove: true',
        '  jobs:',
        `    - { name: test, on: build, run: [sh, ${JSON.stringify(script)}], timeoutSec: 120 }`,
        '',
      ].join('\n'),
    );
    ({ server, work } = await startPipelineServer(dir, config));
  }, 60_000);

  // Each scenario has a push of its own; one that failed half way must not hold the next one back.
  afterEach(async () => {
    await unlink(gate()).catch(() => undefined);
    for (const p of (await board()).pushes) if (p.state === 'accepting') await discard(p.id);
  });

  afterAll(async () => {
    await unlink(gate()).catch(() => undefined);
    await server?.kill();
    delete process.env.PM_BISECT_DIR;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names the request whose marker file breaks the build in at most ⌈log2 N⌉ + 1 runs, removes it, rebuilds without it and tells its owner', async () => {
    const changes = Array.from({ length: 8 }, (_, i): Record<string, string> => (i === 5 ? { BREAKS: 'the culprit\n' } : {}));
    const { push, ids } = await trainOf('one', changes);
    const culprit = ids[5]!;
    const p = await concluded(push);
    expect(p.bisection).toMatchObject({ state: 'culprit', culprit, requests: 8, name: 'test' });
    const bisectJobs = (p.jobs ?? []).filter((j) => j.kind === 'bisect');
    // The job has never flaked here, so one red run alone names it: ⌈log2 N⌉ + 1 runs at most.
    expect(bisectJobs.length).toBeGreaterThan(1);
    expect(bisectJobs.length).toBeLessThanOrEqual(Math.ceil(Math.log2(8)) + 1);
    expect(p.bisection!.runs).toBe(bisectJobs.length);
    expect(p.bisection!.sizes[0]).toBe(8);
    // Each run says which candidate it tested; the last one is the culprit alone on master.
    expect(bisectJobs.every((j) => typeof j.candidate === 'string' && j.candidate.length > 0), JSON.stringify(bisectJobs)).toBe(true);
    expect(bisectJobs.at(-1)!.candidate).toBe(`#${culprit} alone`);
    const listed = await run(['job', 'list', '--push', String(push)]);
    expect(listed.stdout).toMatch(new RegExp(`\\(bisect: #${culprit} alone\\) at [0-9a-f]{10}`));
    expect(listed.stdout).toMatch(/\(bisect: master \+ #\d+ … #\d+ \(\d+\)\) at/);
    expect(p.bisection!.summary).toContain(`found request #${culprit}`);
    // Removed with the reason, in its history; the deploy branch rebuilt without it and green again.
    expect(await accepted(push)).toEqual(ids.filter((id) => id !== culprit));
    // Rebuilt without it, and its build job passes there.
    const after = await until('the rebuild without the culprit to pass', async () => {
      const x = await pushOf(push);
      return (x.jobs ?? []).some((j) => j.kind === 'build' && j.sha === x.deploySha && j.state === 'passed') ? x : null;
    }, 60_000);
    expect((await run(['push', 'stage', String(push), '--env', 'stage-a'])).code).toBe(0);
    await gitOk(work, ['fetch', '-q', 'origin']);
    const files = await gitOk(work, ['ls-tree', '-r', '--name-only', after.deploySha!]);
    expect(files).not.toContain('BREAKS');
    expect(files.split('\n').filter((f) => f.startsWith('one/'))).toHaveLength(7);
    const shown = await run(['request', 'show', String(culprit)]);
    expect(shown.stdout).toMatch(/breaks test: job \d+\.\d+ failed on candidate [0-9a-f]{7,}/);
    const status = await run(['status']);
    expect(status.stdout).toContain(`bisection of push ${push} (test) found request #${culprit}`);
    // Candidate refs were refs of their own while it ran, gone afterwards.
    expect(await bisectRefs()).toBe('');
    // The owner and the pushmaster hear it, with the failing line of the log and what to do next.
    const [notice] = await until('the culprit notice', async () => ((await notices('Breaks test')).length ? notices('Breaks test') : null));
    expect([...notice!.to].sort()).toEqual(['alice', 'pm']);
    expect(notice!.text).toContain('BREAKS present: failing');
    // Trusted on one run, the branch without it never ran in the search: it is rebuilt.
    expect(notice!.text).toContain('It was removed from the push, which is rebuilt and tested without it.');
    expect(notice!.text).toMatch(/pushmanager job log \d+\.\d+/);
    // The failed build itself told only the pushmaster (nobody blamed before the search ended).
    const started = (await notices('Job failed: test')).filter((n) => n.subject.includes(`push #${push} `));
    expect(started.map((n) => n.to)).toEqual([['pm']]);
  }, 120_000);

  it('a job that fails only on its first run is retried, passes, is marked flaky and nobody is removed', async () => {
    const { push, ids } = await trainOf('flaky', [{}, { FLAKY: 'x\n' }, {}]);
    const p = await until('the retry to pass', async () => {
      const x = await pushOf(push);
      return (x.jobs ?? []).some((j) => j.kind === 'retry' && j.state === 'passed') ? x : null;
    });
    const jobs = p.jobs ?? [];
    expect(jobs.map((j) => [j.kind, j.state])).toEqual([['build', 'failed'], ['retry', 'passed']]);
    expect(jobs[1]!.flaky).toBe(true);
    expect(p.bisection).toBeUndefined();
    expect(await accepted(push)).toEqual(ids);
    expect((await board()).flakes).toEqual({ test: 1 });
    const show = await run(['job', 'show', jobs[1]!.id]);
    expect(show.stdout).toMatch(/flaky/);
  }, 60_000);

  it('a pair that fails only together is reported naming both; the later one is removed', async () => {
    const { push, ids } = await trainOf('pair', [{}, { PAIR_A: 'a\n' }, {}, {}, { PAIR_B: 'b\n' }, {}]);
    const p = await concluded(push);
    expect(p.bisection).toMatchObject({ state: 'pair', culprit: ids[4], partner: ids[1] });
    await until('the later one removed', async () => !(await accepted(push)).includes(ids[4]!));
    expect(await accepted(push)).toContain(ids[1]);
    const [notice] = await until('the pair notice', async () => {
      const n = (await notices('Breaks test')).filter((x) => x.text.includes('only together'));
      return n.length ? n : null;
    });
    expect(notice!.text).toContain(`#${ids[4]}`);
    expect(notice!.text).toContain(`#${ids[1]}`);
    expect(notice!.text).toContain('neither fails alone');
    // Said once: the evidence after it does not repeat "only together with".
    expect(notice!.text.match(/only together/g)).toHaveLength(1);
    expect([...notice!.to].sort()).toEqual(['alice', 'pm']);
    // The board names both and says the later one is out of the push.
    expect(p.bisection!.summary).toMatch(new RegExp(`^bisection of push ${push} \\(test\\) found requests #${ids[4]} and #${ids[1]}, red only together, in \\d+ runs; #${ids[4]} removed from the push, #${ids[1]} stays$`));
  }, 120_000);

  it('two breaking requests: the first is removed, the red branch without it becomes the deploy branch and only a retry of its run is made there, then the next search removes the second', async () => {
    // A job known to flake blames a culprit only once the branch without it ran: make it one (when run alone).
    if (!(await board()).flakes?.test) {
      const { push } = await trainOf('flake-first', [{ FLAKY: 'x\n' }]);
      await until('the flaky retry to pass', async () => ((await pushOf(push)).jobs ?? []).some((j) => j.kind === 'retry' && j.state === 'passed'));
      await discard(push);
    }
    const { push, ids } = await trainOf('two', [{}, { 'BREAKS-1': 'x\n' }, {}, {}, { 'BREAKS-2': 'y\n' }, {}]);
    const done = await until('both culprits removed and the build green', async () => {
      const x = await pushOf(push);
      const left = await accepted(push);
      const green = (x.jobs ?? []).some((j) => j.sha === x.deploySha && j.state === 'passed');
      return !left.includes(ids[1]!) && !left.includes(ids[4]!) && green ? x : null;
    }, 90_000);
    expect(await accepted(push)).toEqual([ids[0], ids[2], ids[3], ids[5]]);
    const jobs = done.jobs ?? [];
    // The first search's candidate without request #ids[1] (red: BREAKS-2) became the deploy branch: its
    // failed bisect run is the build's first attempt, so the one job on it besides is its retry, and no build.
    const retried = jobs.filter((j) => j.kind === 'retry' && j.attempt === 2 && jobs.some((b) => b.kind === 'bisect' && b.sha === j.sha && b.state === 'failed'));
    expect(retried, JSON.stringify(jobs.map((j) => [j.id, j.kind, j.sha.slice(0, 7), j.state]))).toHaveLength(1);
    const second = retried[0]!;
    expect(second.state).toBe('failed');
    expect(jobs.filter((j) => j.sha === second.sha && j.kind === 'build')).toEqual([]);
    // Its retry's failure started the second search, which found the other one.
    expect(jobs.filter((j) => j.kind === 'bisect' && jobs.indexOf(j) > jobs.indexOf(second)).length).toBeGreaterThan(0);
    await gitOk(work, ['fetch', '-q', 'origin']);
    const final = await gitOk(work, ['ls-tree', '-r', '--name-only', done.deploySha!]);
    expect(final.split('\n').filter((f) => f.startsWith('BREAKS'))).toEqual([]);
    expect(final.split('\n').filter((f) => f.startsWith('two/'))).toHaveLength(4);
    for (const id of [ids[1]!, ids[4]!]) expect((await run(['request', 'show', String(id)])).stdout).toMatch(/breaks test: job \d+\.\d+ failed on candidate/);
    // The first culprit's owner hears that the push still fails without it; the second's, that the push
    // without it passed in the search and is the deploy branch as it is.
    const told = await until('both culprit notices', async () => {
      const n = (await notices('Breaks test')).filter((x) => x.text.includes(`#${ids[1]}`) || x.text.includes(`#${ids[4]}`));
      return n.length >= 2 ? n : null;
    });
    const about = (id: number) => told.find((x) => x.subject.includes(`#${id}`))!;
    expect(about(ids[1]!).text).toContain('The push still fails test without it (another request breaks it too, or a flake)');
    expect(about(ids[4]!).text).toContain('The push without it passed test in the search, and that build is its deploy branch now: nothing to rebuild.');
  }, 120_000);

  it('a re-push mid-bisection restarts it on the new deploy branch, keeping the finished candidates that still are its prefixes', async () => {
    await writeFile(gate(), '');
    const changes = Array.from({ length: 8 }, (_, i): Record<string, string> => (i === 1 ? { BREAKS: 'the culprit\n' } : {}));
    const { push, ids } = await trainOf('repush', changes);
    // Red runs end at once; green ones wait at the gate: prefixes 4 and 2 are red, prefix 1 waits.
    const waiting = await until('a candidate waiting at the gate', async () => {
      const x = await pushOf(push);
      const b = x.bisection;
      return b && b.candidates.length >= 3 && (x.jobs ?? []).some((j) => j.kind === 'bisect' && j.state === 'running') ? x : null;
    });
    const finished = waiting.bisection!.candidates.filter((c) => (waiting.jobs ?? []).some((j) => c.jobs.includes(j.id) && j.state === 'failed'));
    expect(finished.map((c) => c.requests.length).sort()).toEqual([2, 4]);
    // The last request (innocent) is pushed again: a new deploy branch.
    await gitOk(work, ['checkout', '-q', 'repush-7']);
    await gitOk(work, ['commit', '-q', '--allow-empty', '-m', 'a re-push mid-bisection']);
    await gitOk(work, ['push', '-q', 'origin', 'repush-7:refs/pushreq/repush-7']);
    const newSha = await gitOk(work, ['rev-parse', 'HEAD']);
    await until('the search to move to the new deploy branch', async () => {
      const x = await pushOf(push);
      return x.deploySha !== waiting.deploySha && x.bisection?.state === 'running' ? x : null;
    });
    // A candidate's run is not retried by hand: the search re-runs candidates itself.
    const refused = await run(['job', 'retry', finished[0]!.jobs[0]!]);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('the search runs its candidates again itself when it needs another result')]);
    await unlink(gate());
    const p = await concluded(push);
    expect(p.bisection).toMatchObject({ state: 'culprit', culprit: ids[1] });
    // The new deploy branch failed its build and retry too: the search took it over, so only the pushmaster heard it.
    const told = await until('both red builds told', async () => {
      const n = (await notices('Job failed: test')).filter((x) => x.subject.includes(`push #${push} `));
      return n.length >= 2 ? n : null;
    });
    expect(told.map((n) => n.to)).toEqual([['pm'], ['pm']]);
    // The finished red prefixes were not run again: each still has its one run.
    for (const c of finished) expect(p.bisection!.candidates.find((x) => x.id === c.id)?.jobs).toEqual(c.jobs);
    expect((await board()).requests.find((r) => r.id === ids[7])!.sha).toBe(newSha);
  }, 120_000);

  it('a SIGKILL of the server mid-bisection: after restart the search goes on and finds the culprit', async () => {
    await writeFile(gate(), '');
    const changes = Array.from({ length: 8 }, (_, i): Record<string, string> => (i === 2 ? { BREAKS: 'the culprit\n' } : {}));
    const { push, ids } = await trainOf('crash', changes);
    // Only a candidate without the culprit waits at the gate (a red one fails at once), so the held run
    // is a running one of those: a run of a red candidate caught in its first milliseconds is not.
    const held = await until('a candidate waiting at the gate', async () => {
      const x = await pushOf(push);
      if (x.bisection?.state !== 'running') return null;
      const green = new Set(x.bisection.candidates.filter((c) => !c.requests.includes(ids[2]!)).flatMap((c) => c.jobs));
      return (x.jobs ?? []).find((j) => j.kind === 'bisect' && j.state === 'running' && green.has(j.id)) ?? null;
    });
    await server.kill();
    const killedAt = new Date().toISOString();
    await unlink(gate());
    await server.start();
    const p = await concluded(push);
    expect(p.bisection).toMatchObject({ state: 'culprit', culprit: ids[2] });
    // The run the kill cut off was run again by the new server (started after the kill), and passed.
    const again = (p.jobs ?? []).find((j) => j.id === held.id)!;
    expect(again.state).toBe('passed');
    expect(again.startedAt! > killedAt).toBe(true);
    await until('the culprit removed', async () => !(await accepted(push)).includes(ids[2]!));
    expect(await bisectRefs()).toBe('');
    // The job has flaked by now (the flaky scenario): the branch without the culprit ran before it was
    // blamed, passed, and is the deploy branch as it is; no build job runs on it again.
    const bisectJobs = (p.jobs ?? []).filter((j) => j.kind === 'bisect');
    expect(p.deploySha).toBe(bisectJobs.at(-1)!.sha);
    expect(bisectJobs.at(-1)!.state).toBe('passed');
    await new Promise((r) => setTimeout(r, 500));
    const now = await pushOf(push);
    expect(now.deploySha).toBe(p.deploySha);
    expect((now.jobs ?? []).filter((j) => j.kind !== 'bisect' && j.sha === now.deploySha)).toEqual([]);
    await gitOk(work, ['fetch', '-q', 'origin']);
    const tree = await gitOk(work, ['ls-tree', '-r', '--name-only', now.deploySha!]);
    expect(tree.split('\n').filter((f) => f.startsWith('crash/'))).toHaveLength(7);
    expect(tree).not.toContain('BREAKS');
    expect(existsSync(gate())).toBe(false);
  }, 120_000);

  it('cancelling the failed job cancels its bisection and its runs', async () => {
    await writeFile(gate(), '');
    const changes = Array.from({ length: 4 }, (_, i): Record<string, string> => (i === 3 ? { BREAKS: 'x\n' } : {}));
    const { push } = await trainOf('cancel', changes);
    const x = await until('a candidate waiting at the gate', async () => {
      const y = await pushOf(push);
      return y.bisection?.state === 'running' && (y.jobs ?? []).some((j) => j.kind === 'bisect' && j.state === 'running') ? y : null;
    });
    const out = await run(['job', 'cancel', x.bisection!.job]);
    expect(out.code, out.stderr).toBe(0);
    const p = await concluded(push);
    expect(p.bisection!.state).toBe('cancelled');
    expect((p.jobs ?? []).filter((j) => j.kind === 'bisect').every((j) => j.state !== 'running' && j.state !== 'queued')).toBe(true);
    expect(await accepted(push)).toHaveLength(4);
    expect(await bisectRefs()).toBe('');
    await unlink(gate());
  }, 60_000);
});
