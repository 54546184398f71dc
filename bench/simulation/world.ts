// The simulated world that the actors share: options, the server process, the stories and pushes
// as the simulation expects them, the locks that order engineers against the pushmaster, the
// latch that holds everyone while the server is down, the figures measured so far, and the
// violations and notes found. Also the client side every actor uses: the board, a command with
// crash handling (did it happen?), and the setup of the repository, server and working clones.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isActiveRequest } from '../../state/model.js';
import type { StatusView } from '../../state/status-view.js';
import { PushmanagerClient, ServerRefusal } from '../../tui/client.js';
import { git, ServerProcess, type Histogram } from '../lib/proc.js';
import { Latch, Mutex, RwLock, Semaphore, seeded, sleep } from '../lib/sync.js';
import { HOT_FILES, hotContent, hotPath, type Options, type PushModel, type Story } from './workload.js';

export class World {
  readonly rnd: () => number;
  readonly dayMin: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly gitDir: string;
  readonly server: ServerProcess;
  readonly stories: Story[] = [];
  readonly pushes: PushModel[] = [];
  readonly lock = new RwLock();
  readonly up = new Latch();
  readonly clones: { dir: string; mutex: Mutex; epoch: number; master: string }[] = [];
  /** Bumped when master moves (a certify), so clones fetch it again. */
  masterEpoch = 0;
  readonly gitClients: Semaphore;
  readonly verifiers = new Semaphore(8);
  t0 = 0;
  stopping = false;
  /** Set by SIGINT/SIGTERM: the signal reaches the run's own git children too, so tasks still running fail. */
  interrupted = false;
  // measurements
  readonly pushMs: number[] = [];
  /** Plain `git push` to a bare repo behind plain http-backend, sampled through the run: the floor under the same load. */
  readonly plainMs: number[] = [];
  readonly pushMsByKind: Record<string, number[]> = { open: [], repush: [], withdraw: [], rebase: [] };
  /** Pushes made by the protocol generator (GET + POST wall time), when it is on. */
  readonly protoMs: number[] = [];
  readonly acceptMs: number[] = [];
  readonly stageMs: number[] = [];
  readonly verifyMs: number[] = [];
  readonly certifyMs: number[] = [];
  readonly restartMs: number[] = [];
  readonly lagMs: number[] = [];
  /** The server's write queue (commands waiting for the single state writer), sampled every second. */
  readonly queueDepth: number[] = [];
  readonly counts: Record<string, number> = {};
  readonly violations: string[] = [];
  readonly notes: string[] = [];
  readonly unexpectedRefusals: string[] = [];
  metrics = new Map<string, Histogram>();
  lastScrape: Map<string, Histogram> | null = null;
  rssMaxKb = 0;
  hwmMaxKb = 0;
  cpuMsDone = 0;
  cpuMsCurrent = 0;
  incarnations = 0;
  kills = 0;

  constructor(readonly o: Options) {
    this.rnd = seeded(o.seed);
    this.dayMin = o.hours * 60;
    this.dir = mkdtempSync(join(tmpdir(), 'pm-simulate-'));
    this.dataDir = join(this.dir, 'data');
    this.gitDir = join(this.dataDir, 'repos', 'main.git');
    this.server = new ServerProcess({ dataDir: this.dataDir, config: join(this.dir, 'pushmanager.yaml') });
    this.gitClients = new Semaphore(o.clones);
  }

  count(k: string, by = 1): void {
    this.counts[k] = (this.counts[k] ?? 0) + by;
  }
  violation(s: string): void {
    this.violations.push(s);
    process.stderr.write(`simulate: VIOLATION ${s}\n`);
  }
  /** Real ms since start → simulated minutes. */
  simNow(): number {
    return ((performance.now() - this.t0) * this.o.speedup) / 60_000;
  }
  /** Waits until simulated minute m. */
  async until(m: number): Promise<void> {
    const realAt = this.t0 + (m * 60_000) / this.o.speedup;
    await sleep(realAt - performance.now());
  }
  client(user: string): PushmanagerClient {
    return new PushmanagerClient({ server: this.server.url, user, password: user });
  }
  remote(user: string): string {
    return `http://${user}:${user}@127.0.0.1:${this.server.port}/main.git`;
  }
  accepting(): PushModel | undefined {
    return this.pushes.find((p) => p.state === 'accepting');
  }

  async setup(): Promise<void> {
    const users: { name: string; password: string; pushmaster?: boolean }[] = [{ name: 'pm', password: 'pm', pushmaster: true }, ...Array.from({ length: this.o.engineers }, (_, i) => ({ name: `e${i + 1}`, password: `e${i + 1}` }))];
    const yaml = [
      'server:',
      '  host: 127.0.0.1',
      `  dataDir: ${JSON.stringify(this.dataDir)}`,
      'auth:',
      '  strategy: local',
      '  users:',
      ...users.map((u) => `    - { name: ${u.name}, password: ${u.password}${u.pushmaster ? ', pushmaster: true' : ''} }`),
      '',
    ].join('\n');
    writeFileSync(join(this.dir, 'pushmanager.yaml'), yaml);

    // Seed master with the shared "hot" files before the first start (a server never takes pushes to master).
    const seedDir = join(this.dir, 'seed');
    mkdirSync(join(seedDir, 'hot'), { recursive: true });
    await git(seedDir, ['init', '-q', '--initial-branch=master']);
    writeFileSync(join(seedDir, 'README.md'), '# main\n\nThe simulated company repository.\n');
    for (let k = 0; k < HOT_FILES; k++) writeFileSync(join(seedDir, hotPath(k)), hotContent(k));
    await git(seedDir, ['add', '-A']);
    await git(seedDir, ['commit', '-q', '-m', 'Seed: shared files']);
    mkdirSync(dirname(this.gitDir), { recursive: true });
    await git(this.dir, ['init', '-q', '--bare', '--initial-branch=master', this.gitDir]);
    await git(seedDir, ['push', '-q', this.gitDir, 'master']);

    this.restartMs.push(await this.server.start(60_000));
    this.incarnations++;
    for (let c = 0; c < this.o.clones; c++) {
      const dir = join(this.dir, `clone-${c}`);
      await git(this.dir, ['clone', '-q', '--no-checkout', this.remote('pm'), dir]);
      this.clones.push({ dir, mutex: new Mutex(), epoch: -1, master: '' });
    }
  }

  /** The board as the pushmaster sees it, everything included; waits for the server when it is down. */
  async board(): Promise<StatusView> {
    for (;;) {
      await this.up.wait();
      try {
        return await this.client('pm').board(true);
      } catch (e) {
        if (e instanceof ServerRefusal && e.status < 500) throw e;
        await sleep(100);
      }
    }
  }

  /** After a push with no clear answer: wait for the server, then read what it recorded. */
  async settle(s: Story): Promise<StatusView['requests'][number] | undefined> {
    await this.up.wait();
    const b = await this.board();
    const mine = b.requests.filter((r) => r.ref === s.ref);
    const active = mine.filter((r) => isActiveRequest(r as never));
    return active[0] ?? mine.sort((a, b2) => b2.id - a.id)[0];
  }

  async retryGit<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.up.wait();
      try {
        return await fn();
      } catch (e) {
        if (attempt > 30) throw e;
        await sleep(200 + this.rnd() * 300);
      }
    }
  }

  /**
   * A command as `user`. On a refusal, `refused` decides (return 'retry' to try again). With no answer
   * (the server died), waits for it and asks `applied` whether the command took effect before retrying.
   */
  async command(user: string, cmd: Parameters<PushmanagerClient['command']>[0], opts: { applied: (b: StatusView) => boolean; refused?: (e: ServerRefusal) => 'retry' | 'give-up' }): Promise<{ ok: boolean; ms: number; error?: ServerRefusal }> {
    for (let attempt = 0; ; attempt++) {
      await this.up.wait();
      const t = performance.now();
      try {
        await this.client(user).command(cmd);
        return { ok: true, ms: performance.now() - t };
      } catch (e) {
        if (e instanceof ServerRefusal && e.status < 500 && e.status !== 429) {
          const what = opts.refused?.(e) ?? 'give-up';
          if (what === 'give-up' || attempt > 100) return { ok: false, ms: performance.now() - t, error: e };
          await sleep(150);
          continue;
        }
        // No answer, or a 5xx: did it happen?
        this.count('commands without an answer');
        const b = await this.board();
        if (opts.applied(b)) return { ok: true, ms: NaN };
        if (attempt > 60) throw new Error(`${cmd.type} as ${user}: no answer after ${attempt} attempts: ${(e as Error).message}`);
        await sleep(150);
      }
    }
  }

  byId(id: number): Story | undefined {
    return this.storyById.get(id);
  }
  get storyById(): Map<number, Story> {
    const m = new Map<number, Story>();
    for (const s of this.stories) if (s.id !== null) m.set(s.id, s);
    return m;
  }

  readonly tasks = new Set<Promise<unknown>>();
  spawn(p: Promise<unknown>): void {
    const q = p.catch((e: unknown) => {
      // Cut off by the signal that stopped the run (its git children got it too): counted, not a violation.
      if (this.interrupted) return this.count('tasks cut off by the signal');
      this.violation(`task failed: ${(e as Error).stack ?? String(e)}`);
    });
    this.tasks.add(q);
    void q.finally(() => this.tasks.delete(q));
  }
}
