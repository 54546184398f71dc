// What one `git push` costs the server in processes, and the background maintenance that keeps pushes cheap. On a small machine every process start is
// 10-40 ms of CPU, so the repository is set up to skip two that git would otherwise start on every
// push for nothing: receive-pack's `gc --auto` and the connectivity check's `for-each-ref` over the
// quarantine's alternate (the same repository). Seen through git's own trace2 events, which git
// writes when the global config (under HOME) names a target directory; the connectivity check
// itself must still run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { ServerProcess } from '../../bench/lib/proc.js';

interface Traced {
  readonly sid: string;
  readonly argv: readonly string[];
  /** The process's parents by name, nearest first (trace2's cmd_ancestry, Linux). */
  readonly ancestry: readonly string[];
}

/** Every git process that wrote a `start` event: its session id (parent ids first, `/`-joined), argv and ancestry. */
async function traced(dir: string): Promise<Traced[]> {
  const out: Traced[] = [];
  for (const name of await readdir(dir)) {
    let start: { sid: string; argv: string[] } | null = null;
    let ancestry: string[] = [];
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      if (line.includes('"event":"start"') && !start) start = JSON.parse(line) as { sid: string; argv: string[] };
      if (line.includes('"event":"cmd_ancestry"')) ancestry = (JSON.parse(line) as { ancestry: string[] }).ancestry;
    }
    if (start) out.push({ sid: start.sid, argv: start.argv, ancestry });
  }
  return out;
}

describe('processes one push costs the server', () => {
  const home = process.env.HOME;
  let f: Fixture;
  let traceDir: string;
  let work: string;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-trace-'));
    traceDir = await mkdtemp(join(dir, 'events-'));
    // git-http-backend passes HOME on, so receive-pack and its children read this global config too.
    await writeFile(join(dir, '.gitconfig'), `[trace2]\n\teventTarget = ${traceDir}\n`);
    process.env.HOME = dir;
    f = await startFixture();
    work = await f.clone('alice');
  });
  afterAll(async () => {
    process.env.HOME = home;
    await f?.close();
  });

  it('starts no gc and no for-each-ref under receive-pack, and still checks connectivity', async () => {
    const sha = await f.commit(work, 'topic', { 'topic.txt': 'one\n' });
    const before = new Set((await traced(traceDir)).map((t) => t.sid));
    const r = await git(work, ['push', '-q', 'origin', `${sha}:refs/pushreq/topic`, '-o', 'title=Traced push']);
    expect(r.code, r.stderr).toBe(0);

    const fresh = (await traced(traceDir)).filter((t) => !before.has(t.sid));
    // The POST's receive-pack (the advertisement's, for the GET, is its own process and starts no child).
    const receive = fresh.filter((t) => t.argv.includes('receive-pack') && t.argv.includes('--stateless-rpc') && !t.argv.includes('--advertise-refs'));
    expect(receive).toHaveLength(1);
    const under = fresh.filter((t) => t.sid.startsWith(`${receive[0]!.sid}/`)).map((t) => t.argv.slice(1).filter((a) => !a.startsWith('--git-dir')).join(' '));
    expect(under.some((a) => a.startsWith('rev-list --objects --stdin --not'))).toBe(true);
    expect(under.filter((a) => /^(gc|maintenance)\b/.test(a))).toEqual([]);
    expect(under.filter((a) => a.includes('for-each-ref'))).toEqual([]);
  });

  it('starts receive-pack from the git spawner, not from the server process, and no http-backend', async () => {
    const sha = await f.commit(work, 'spawned', { 'spawned.txt': 'one\n' });
    const before = new Set((await traced(traceDir)).map((t) => t.sid));
    const r = await git(work, ['push', '-q', 'origin', `${sha}:refs/pushreq/spawned`, '-o', 'title=Spawned push']);
    expect(r.code, r.stderr).toBe(0);
    const fresh = (await traced(traceDir)).filter((t) => !before.has(t.sid));
    // A 100 MB server forking twice a push was 45% of its own time under load (bench/results/capacity-profile.md).
    expect(fresh.filter((t) => t.argv.some((a) => a.includes('http-backend')))).toEqual([]);
    const receive = fresh.filter((t) => t.argv.includes('receive-pack'));
    expect(receive.map((t) => t.argv.includes('--advertise-refs')).sort()).toEqual([false, true]);
    for (const t of receive) expect(t.ancestry[0]).toBe('perl');
  });

  it('packs the repository in the background while pushes go on, and says so in /metrics', async () => {
    const sha = await f.commit(work, 'during', { 'during.txt': 'two\n' });
    const [run, pushed] = await Promise.all([f.server.maintenance.run(), git(work, ['push', '-q', 'origin', `${sha}:refs/pushreq/during`, '-o', 'title=Pushed during maintenance'])]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(run).toMatchObject({ ok: true });
    expect(run.after.packs).toBeGreaterThanOrEqual(1);
    await f.server.train.idle();
    const titles = (await f.client('alice').board(true)).requests.map((r) => r.title).sort();
    expect(titles).toEqual(['Pushed during maintenance', 'Spawned push', 'Traced push']);
    // Nothing lost: a fresh clone has both requests' commits, and the repository is whole.
    const again = await f.clone('bob');
    expect((await git(again, ['fetch', '-q', 'origin', 'refs/pushreq/during'])).code).toBe(0);
    expect((await git(f.server.repo.gitDir, ['fsck', '--no-dangling', '--no-progress'])).code).toBe(0);
    const metrics = await (await fetch(`${f.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^pushmanager_repo_maintenance_seconds_count\{result="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^pushmanager_repo_packs [1-9]/m);
  });
});

describe('archive refs of discarded requests', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('are hidden from pushers: not advertised, not walked, not writable; their commit can be pushed again', async () => {
    const work = await f.clone('alice');
    const sha = await f.commit(work, 'hide-a', { 'hide-a.txt': 'one\n' });
    expect((await git(work, ['push', '-q', 'origin', `${sha}:refs/pushreq/hide-a`, '-o', 'title=To be withdrawn'])).code).toBe(0);
    expect((await git(work, ['push', '-q', 'origin', ':refs/pushreq/hide-a'])).code).toBe(0);
    const archived = async () => (await git(f.server.repo.gitDir, ['for-each-ref', '--format=%(refname)', 'refs/pushmanager/archive/'])).stdout.trim();
    const until = Date.now() + 10_000;
    while (!(await archived()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await archived()).toMatch(/^refs\/pushmanager\/archive\//);

    // Every push's GET lists the refs; one archive ref per request ever discarded made it grow all day.
    const res = await fetch(`${f.server.url}/main.git/info/refs?service=git-receive-pack`, { headers: { authorization: `Basic ${Buffer.from('alice:alice').toString('base64')}` } });
    const adv = await res.text();
    expect(res.status).toBe(200);
    expect(adv).toContain('refs/heads/master');
    expect(adv).not.toContain('refs/pushmanager/archive/');

    const again = await git(work, ['push', 'origin', `${sha}:refs/pushreq/hide-b`, '-o', 'title=Pushed again']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/request \d+ "Pushed again" opened/);
    const forged = await git(work, ['push', 'origin', `${sha}:refs/pushmanager/archive/999`]);
    expect(forged.code).not.toBe(0);
    expect((await git(f.server.repo.gitDir, ['rev-parse', '--verify', '-q', 'refs/pushmanager/archive/999'])).code).not.toBe(0);
    expect((await git(f.server.repo.gitDir, ['fsck', '--no-dangling', '--no-progress'])).code).toBe(0);
  });

  it('the metadata branch too: not advertised to pushers, still fetched, and a push to it is refused with the server\'s reason', async () => {
    const work = await f.clone('alice');
    // Its history (one commit per state change, newer than the pushed commits) was walked by every
    // connectivity check; hidden, the check stops at master and the pushreq refs.
    const auth = { authorization: `Basic ${Buffer.from('alice:alice').toString('base64')}` };
    const adv = await (await fetch(`${f.server.url}/main.git/info/refs?service=git-receive-pack`, { headers: auth })).text();
    expect(adv).toContain('refs/heads/master');
    expect(adv).not.toContain('refs/heads/pushmanager/meta');
    const sha = await f.commit(work, 'meta-forge', { 'm.txt': 'x\n' });
    const forged = await git(work, ['push', 'origin', `${sha}:refs/heads/pushmanager/meta`]);
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toMatch(/remote: .*metadata branch is written only by the pushmanager server/);
    expect(forged.stderr).not.toContain('hidden ref');
    // Pushed together with a push request: that one is recorded, the metadata branch still refused.
    const both = await git(work, ['push', 'origin', `${sha}:refs/heads/pushmanager/meta`, `${sha}:refs/pushreq/meta-and-more`, '-o', 'title=Beside a refused ref']);
    expect(both.stderr).toMatch(/\[remote rejected\].*pushmanager\/meta.*metadata branch is written only/);
    expect(both.stderr).toMatch(/request \d+ "Beside a refused ref" opened/);
    const adv2 = await (await fetch(`${f.server.url}/main.git/info/refs?service=git-receive-pack`, { headers: auth })).text();
    expect(adv2).toContain('refs/pushreq/meta-and-more');
    expect(adv2).not.toContain('refs/heads/pushmanager/meta');
    expect((await git(work, ['ls-remote', 'origin', 'refs/heads/pushmanager/meta'])).stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/pushmanager\/meta$/m);
  });
});

describe('a server whose git spawner died', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('still serves pushes, forking git itself', async () => {
    const pids = readdirSync('/proc').filter((n) => {
      if (!/^\d+$/.test(n)) return false;
      try {
        const cmd = readFileSync(`/proc/${n}/cmdline`, 'latin1');
        return cmd.includes('git-spawner.pl') && cmd.includes(f.dir);
      } catch {
        return false;
      }
    });
    expect(pids).toHaveLength(1);
    process.kill(Number(pids[0]), 'SIGKILL');
    const gone = Date.now() + 5_000;
    while (existsSync(`/proc/${pids[0]}/cmdline`) && readFileSync(`/proc/${pids[0]}/status`, 'latin1').match(/^State:\s+[^Z]/m) && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // the server hears of its exit
    const work = await f.clone('alice');
    const sha = await f.commit(work, 'after', { 'after.txt': 'one\n' });
    const r = await git(work, ['push', 'origin', `${sha}:refs/pushreq/after`, '-o', 'title=After the spawner died']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/request \d+ "After the spawner died" opened/);
  });
});

describe('a server killed in the middle of a push', () => {
  let dir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-cutoff-'));
    server = new ServerProcess({ dataDir: join(dir, 'data') });
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
    for (const pid of gitProcessesUnder(dir)) process.kill(pid, 'SIGKILL');
  });

  /** Live git processes whose repository is under `root` (from their environment). */
  function gitProcessesUnder(root: string): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (!readFileSync(`/proc/${name}/cmdline`, 'latin1').includes('git')) continue;
        if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(`GIT_PROJECT_ROOT=${root}`)) out.push(Number(name));
      } catch {
        /* gone meanwhile */
      }
    }
    return out;
  }

  it('leaves no git process behind once its request body is cut off', async () => {
    const root = join(dir, 'data', 'repos');
    // A receive-pack request that announces 100 kB and sends its command (the server reads that far
    // before it starts git: see revealOnPush in server/http/git-http.ts) and 4 bytes of pack, then waits.
    const command = `${'0'.repeat(40)} ${'1'.repeat(40)} refs/pushreq/cut\0report-status\n`;
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      [
        'POST /main.git/git-receive-pack HTTP/1.1',
        'Host: 127.0.0.1',
        `Authorization: Basic ${Buffer.from('alice:alice').toString('base64')}`,
        'Content-Type: application/x-git-receive-pack-request',
        'Content-Length: 100000',
        '',
        `${(command.length + 4).toString(16).padStart(4, '0')}${command}0000PACK`,
      ].join('\r\n'),
    );
    const deadline = Date.now() + 10_000;
    while (gitProcessesUnder(root).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(gitProcessesUnder(root).length).toBeGreaterThan(0);

    await server.kill(); // SIGKILL: no shutdown code runs, the children's pipes just close
    socket.destroy();
    const gone = Date.now() + 5_000;
    while (gitProcessesUnder(root).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    // git 2.39's http-backend, given CONTENT_LENGTH, would still be here, reading EOF at full CPU.
    expect(gitProcessesUnder(root)).toEqual([]);
    await server.start(); // and the repository is fine to serve again
  });
});
