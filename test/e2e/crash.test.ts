// Crash safety of the train: the server runs as its own process (its own process group, so a kill takes its
// git children too, as a crashed service's cgroup would), 30 pickmes are accepted in one command, and the
// server is SIGKILLed while the deploy branch is being built, right after the accept is committed, and
// between a re-push of an accepted request and its background rebuild. After each restart the deploy branch ref and the recorded
// deploySha must agree (both old or both new), git fsck must find nothing but dangling objects, and a
// `push rebuild` must complete and leave them agreeing again. The ref and fsck checks are the
// simulation's invariants (bench/simulation/invariants.ts), shared so that both check the same thing.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsckProblems, readSnapshot, refProblems } from '../../bench/simulation/invariants.js';
import type { StatusView } from '../../state/status-view.js';
import { PushmanagerClient } from '../../tui/client.js';
import { git, gitOk, type GitOutput } from '../helpers/server-fixture.js';

const MAIN = join(process.cwd(), 'dist', 'tui', 'cli', 'main.js');
const N = 30;

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHMANAGER_')));

/** The CLI as a separate process (allowed here: the server is not in this process). */
function runCli(url: string, user: string, args: readonly string[]): Promise<GitOutput> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: { ...cleanEnv(), PUSHMANAGER_SERVER: url, PUSHMANAGER_USER: user, PUSHMANAGER_PASSWORD: user } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

class ServerProcess {
  proc: ChildProcess | null = null;
  url = '';
  log = '';
  constructor(readonly data: string) {}

  async start(): Promise<string> {
    const port = await freePort();
    // detached: its own process group, so the kill below reaches git children mid-merge too.
    const proc = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--data', this.data], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: cleanEnv() });
    this.proc = proc;
    proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${this.log}`);
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return this.url;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`server did not answer /healthz: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    process.kill(-proc.pid!, 'SIGKILL');
    await exited;
    this.proc = null;
  }

  client(user: string): PushmanagerClient {
    return new PushmanagerClient({ server: this.url, user, password: user });
  }
}

describe('crash safety: SIGKILL while 30 accepted requests are built', () => {
  let dir: string;
  let server: ServerProcess;
  let work: string;
  let gitDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-crash-'));
    server = new ServerProcess(join(dir, 'data'));
    gitDir = join(dir, 'data', 'repos', 'main.git');
    await server.start();
    const remote = (user: string) => `${server.url.replace('://', `://${user}:${user}@`)}/main.git`;
    work = join(dir, 'alice');
    await gitOk(dir, ['clone', '-q', remote('alice'), work]);
    // 30 independent branches in one fast-import process, one new file each.
    const master = await gitOk(work, ['rev-parse', 'origin/master']);
    const stream = Array.from({ length: N }, (_, i) =>
      [`commit refs/heads/b${i}`, `committer Alice <alice@example.com> ${1_700_000_000 + i} +0000`, `data ${`change ${i}`.length}`, `change ${i}`, `from ${master}`, `M 100644 inline src/file-${i}.txt`, `data ${`content ${i}\n`.length}`, `content ${i}`, ''].join('\n'),
    ).join('\n');
    await new Promise<void>((resolve, reject) => {
      const p = spawn('git', ['fast-import', '--quiet'], { cwd: work, stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err))));
      p.stdin.end(stream + '\n');
    });
    const pushed = await git(work, ['push', 'origin', ...Array.from({ length: N }, (_, i) => `b${i}:refs/pushreq/crash-${i}`)]);
    expect(pushed.code, pushed.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const board = () => server.client('pm').board(true);
  const deployRef = async (push: number): Promise<string | null> => {
    const r = await git(gitDir, ['rev-parse', '--verify', '-q', `refs/heads/deploy/push-${push}`]);
    return r.code === 0 ? r.stdout.trim() : null;
  };

  /**
   * The simulation's invariant after a crash (bench/simulation/invariants.ts): the state on the
   * metadata branch, the request refs and the deploy branches agree, read straight from the repository.
   */
  async function expectRefsAgree(): Promise<void> {
    const snap = await readSnapshot(gitDir);
    expect(snap, 'the metadata branch kept moving').not.toBeNull();
    expect(refProblems(snap!.board, snap!.refs)).toEqual([]);
  }

  /** Ref and state agree, and the recorded merges are exactly the added requests. */
  async function expectConsistent(push: number): Promise<{ accepted: boolean; deploySha: string }> {
    await expectRefsAgree();
    const b = await board();
    const p = b.pushes.find((x) => x.id === push)!;
    expect(p.deploySha).not.toBeNull();
    const added = b.requests.filter((r) => r.push === push && r.state === 'added').map((r) => r.id).sort((x, y) => x - y);
    const pickmes = b.requests.filter((r) => r.push === push && r.state === 'pickme');
    expect(added.length + pickmes.length).toBe(N);
    expect([0, N]).toContain(added.length); // one command: all or nothing
    const merged = (await gitOk(gitDir, ['log', '--merges', '--format=%(trailers:key=Request,valueonly)', p.deploySha!])).split('\n').filter(Boolean).map(Number).sort((x, y) => x - y);
    expect(merged).toEqual(added);
    return { accepted: added.length === N, deploySha: p.deploySha! };
  }

  async function fsckClean(): Promise<void> {
    expect(await fsckProblems(gitDir, { full: true })).toEqual([]);
  }

  /** An accepting push with all 30 as pickmes, checked for conflicts, nothing else in flight. */
  async function freshPush(): Promise<number> {
    let b: StatusView = await board();
    let open = b.pushes.find((p) => p.state === 'accepting');
    if (open && b.requests.some((r) => r.push === open!.id && r.state === 'added')) {
      await server.client('pm').command({ type: 'DiscardPush', push: open.id, reason: 'crash test: next round' });
      open = undefined;
    }
    if (!open) await server.client('pm').command({ type: 'OpenPush', title: 'crash', pushType: 'regular' });
    // Wait for the background conflict check of the 30 pickmes, so the kill lands on the accept's own work.
    const deadline = Date.now() + 20_000;
    for (;;) {
      b = await board();
      open = b.pushes.find((p) => p.state === 'accepting')!;
      const mine = b.requests.filter((r) => r.push === open!.id && r.state === 'pickme');
      if (mine.length === N && mine.every((r) => r.tags.includes('no-conflicts'))) break;
      if (Date.now() > deadline) throw new Error(`pickmes not checked: ${JSON.stringify(mine.map((r) => [r.id, r.tags]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 150));
    return open.id;
  }

  /**
   * Sends the accept of all 30 and SIGKILLs the server when `when` says so: at the n-th merge of the
   * build (progress events), once the accept is committed, or a number of ms after sending.
   */
  async function acceptAndKill(push: number, when: { merges: number } | { committed: true } | { ms: number }): Promise<void> {
    const ids = (await board()).requests.filter((r) => r.push === push && r.state === 'pickme').map((r) => r.id);
    const abort = new AbortController();
    let fire: () => void = () => undefined;
    const trigger = new Promise<void>((r) => (fire = r));
    const events = server
      .client('pm')
      .events((kind, data) => {
        const m = data as { task?: string; done?: number; command?: string };
        if ('merges' in when && kind === 'progress' && m.task === 'rebuild' && (m.done ?? 0) >= when.merges) fire();
        if ('committed' in when && kind === 'commit' && m.command === 'AcceptRequests') fire();
      }, abort.signal)
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100)); // the stream is open
    const accepted = server.client('pm').command({ type: 'AcceptRequests', push, requests: ids }).catch(() => undefined);
    if ('ms' in when) setTimeout(fire, when.ms);
    await Promise.race([trigger, accepted.then(() => new Promise((r) => setTimeout(r, 'committed' in when ? 0 : 5_000)))]);
    await server.kill();
    abort.abort();
    await Promise.allSettled([events, accepted]);
  }

  const ROUNDS: readonly { name: string; when: { merges: number } | { committed: true } | { ms: number } }[] = [
    { name: 'at the first merge of the build', when: { merges: 1 } },
    { name: 'half way through the build', when: { merges: N / 2 } },
    { name: '40 ms after sending the accept', when: { ms: 40 } },
    { name: 'right after the accept is committed', when: { committed: true } },
  ];

  const outcomes: string[] = [];
  for (const round of ROUNDS) {
    it(`killed ${round.name}: ref and state agree after restart, fsck is clean, rebuild completes`, async () => {
      const push = await freshPush();
      const before = (await board()).pushes.find((p) => p.id === push)!.deploySha;
      expect(await deployRef(push)).toBe(before);
      await acceptAndKill(push, round.when);

      await server.start();
      const after = await expectConsistent(push);
      outcomes.push(`${round.name}: ${after.accepted ? 'new' : 'old'}`);
      if (!after.accepted) expect(after.deploySha).toBe(before); // both old
      await fsckClean();

      const rebuilt = await runCli(server.url, 'pm', ['push', 'rebuild', String(push)]);
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      const again = await expectConsistent(push);
      expect(again.accepted).toBe(after.accepted);
      if (again.accepted) {
        const files = await gitOk(gitDir, ['ls-tree', '-r', '--name-only', again.deploySha, 'src/']);
        expect(files.split('\n')).toHaveLength(N);
      }
    }, 60_000);
  }

  it('killed after a re-push of an accepted request is recorded but before its rebuild: the push heals after restart', async () => {
    // An accepting push with all 30 accepted (the last round usually left one), quiet.
    let push = (await board()).pushes.find((p) => p.state === 'accepting')!.id;
    if (!(await expectConsistent(push)).accepted) {
      push = await freshPush();
      const ids = (await board()).requests.filter((r) => r.push === push).map((r) => r.id);
      await server.client('pm').command({ type: 'AcceptRequests', push, requests: ids });
      await expectConsistent(push);
    }
    const first = (await board()).requests.find((r) => r.ref === 'refs/pushreq/crash-0')!;

    // The kill must land between the re-push's state commit and its rebuild's. The rebuild of 30
    // merges usually takes longer than the commit event's trip to this process and the kill, but a
    // fast machine can finish it first; then the push is already whole, and the re-push is tried
    // again (a new commit each time) until a kill lands in the window.
    let newSha = '';
    let p: StatusView['pushes'][number] | undefined;
    const tries: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      // The server listens on a new port after every restart.
      await gitOk(work, ['remote', 'set-url', 'origin', `${server.url.replace('://', '://alice:alice@')}/main.git`]);
      const abort = new AbortController();
      let fire: () => void = () => undefined;
      const recorded = new Promise<void>((r) => (fire = r));
      const events = server
        .client('pm')
        .events((kind, data) => {
          if (kind === 'commit' && (data as { command?: string }).command === 'UpdateRequest') fire();
        }, abort.signal)
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      await gitOk(work, ['checkout', '-q', 'b0']);
      await gitOk(work, ['commit', '-q', '--allow-empty', '-m', `a fix after acceptance (${attempt + 1})`]);
      newSha = await gitOk(work, ['rev-parse', 'HEAD']);
      const pushing = git(work, ['push', 'origin', 'b0:refs/pushreq/crash-0']);
      await Promise.race([recorded, pushing.then((r) => new Promise((res) => setTimeout(res, 2_000, r)))]);
      await server.kill();
      abort.abort();
      await Promise.allSettled([events, pushing]);

      await server.start();
      const after = await board();
      expect(after.requests.find((r) => r.id === first.id)!.sha).toBe(newSha);
      p = after.pushes.find((x) => x.id === push)!;
      await expectRefsAgree();
      const built = await gitOk(gitDir, ['log', '--merges', '--format=%P', p.deploySha!]);
      tries.push(built.includes(newSha) ? 'rebuild landed before the kill' : 'killed before the rebuild');
      if (!built.includes(newSha)) break;
    }
    // The kill landed before the rebuild was recorded: ref and state agree on the old build.
    expect(tries.at(-1), tries.join(', ')).toBe('killed before the rebuild');
    // Nothing is rebuilding it any more; the pushmaster's next step must not be refused for ever.
    const deadline = Date.now() + 30_000;
    let staged = '';
    while (Date.now() < deadline) {
      try {
        await server.client('pm').command({ type: 'StagePush', push, env: 'stage-a' });
        staged = 'ok';
        break;
      } catch (e) {
        staged = (e as { code?: string }).code ?? String(e);
        if (staged !== 'deploy-branch-stale') break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(staged).toBe('ok');
    const healed = (await board()).pushes.find((x) => x.id === push)!;
    await expectRefsAgree();
    expect(await gitOk(gitDir, ['rev-list', '--parents', '--merges', '-n', '1', '--grep', `^Request: ${first.id}$`, healed.deploySha!])).toContain(newSha);
    await fsckClean();
  }, 60_000);

  it('the kills landed both before and after the accept was committed', () => {
    expect(outcomes.join('\n')).toMatch(/first merge of the build: old/);
    expect(outcomes.join('\n')).toMatch(/right after the accept is committed: new/);
  });
});
