// A day in the life (issue 8): engineers push, re-push and withdraw requests on a realistic schedule while a
// scripted pushmaster runs each push to certification; optionally the server is SIGKILLed at random points
// and restarted. Reports latencies, server RSS and CPU, and checks at the end that every request is in
// exactly the state its story says, that refs, deploy branches and state agree, and that master is the last
// certified tag.
//
//   npm run simulate -- [--engineers 50] [--hours 2] [--speedup 60] [--kills 0] [--seed 1] [--quick]
//                       [--generator git|protocol] [--git-sample 0.1] [--report FILE] [--keep]
//
// The server is a separate process (the built CLI, `serve`) with a generated config: users e1..eN and pm
// (pushmaster), plaintext passwords on loopback. Engineers share a few working clones; their git clients run
// at a lower priority (--client-nice, default 10): in real life they run on laptops, not on the server's cores. Commits are made
// with plumbing (no checkout), pushed with the real `git push` to a per-user URL. With `--generator protocol`
// most pushes go through the load generator (bench/load/: git's receive-pack protocol spoken from this
// process, the pack built from the clone's objects, no process per push), so the engineers' side no longer
// sets the pace; a sample of stories (--git-sample, default 1 in 10) still pushes with real `git push`,
// for the engineer's-eye latency.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CatFileBatch, parseTreeObject } from '../server/git/cat-file.js';
import { GitCli } from '../server/git/git-cli.js';
import { ObjectWriter, type TreeEntry } from '../server/git/object-writer.js';
import { GitStateStore } from '../server/store/git-state-store.js';
import { isActiveRequest, isOpenPush, type Board } from '../state/model.js';
import type { StatusView } from '../state/status-view.js';
import { PushmanagerClient, ServerRefusal } from '../tui/client.js';
import { median, percentile } from './lib/bench-row.js';
import { addHistogram, git, histogramQuantile, run, scrapeMetrics, ServerProcess, type Histogram } from './lib/proc.js';
import { startPlainGitServer } from './lib/plain-git-server.js';
import { Latch, Mutex, RwLock, Semaphore, seeded, sleep } from './lib/sync.js';
import { buildPack, objectsAddedByCommit } from './load/pack.js';
import { porcelainText, ReceivePackClient, ZERO_SHA } from './load/receive-pack-client.js';

// ---------------------------------------------------------------- options

interface Options {
  engineers: number;
  hours: number;
  speedup: number;
  kills: number;
  seed: number;
  clones: number;
  report: string | null;
  keep: boolean;
  quick: boolean;
  /** Niceness of the engineers' git clients (and the baseline's client): in real life they run on laptops. */
  clientNice: number;
  /** Who makes the engineers' pushes: real `git push` for all, or the protocol generator with a sample of real git. */
  generator: 'git' | 'protocol';
  /** With the protocol generator: the share of stories whose pushes stay real `git push`. */
  gitSample: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { engineers: 50, hours: 2, speedup: 60, kills: 0, seed: 1, clones: 8, report: null, keep: false, quick: false, clientNice: 10, generator: 'git', gitSample: 0.1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) {
        console.error(`simulate: ${a} needs a non-negative number`);
        process.exit(2);
      }
      return v;
    };
    if (a === '--engineers') o.engineers = Math.max(1, Math.floor(num()));
    else if (a === '--hours') o.hours = num();
    else if (a === '--speedup') o.speedup = Math.max(1, num());
    else if (a === '--kills') o.kills = Math.floor(num());
    else if (a === '--seed') o.seed = Math.floor(num());
    else if (a === '--clones') o.clones = Math.max(1, Math.floor(num()));
    else if (a === '--client-nice') o.clientNice = Math.min(19, Math.floor(num()));
    else if (a === '--generator') {
      const g = argv[++i];
      if (g !== 'git' && g !== 'protocol') {
        console.error('simulate: --generator takes git or protocol');
        process.exit(2);
      }
      o.generator = g;
    } else if (a === '--git-sample') o.gitSample = Math.min(1, num());
    else if (a === '--report') o.report = argv[++i] ?? null;
    else if (a === '--keep') o.keep = true;
    else if (a === '--quick') o.quick = true;
    else {
      console.error(`simulate: unknown option ${a}\nusage: simulate [--engineers N] [--hours H] [--speedup X] [--kills N] [--seed N] [--clones N] [--client-nice N] [--generator git|protocol] [--git-sample F] [--quick] [--report FILE] [--keep]`);
      process.exit(2);
    }
  }
  if (o.quick) {
    o.engineers = Math.min(o.engineers, 60);
    o.hours = Math.min(o.hours, 1);
    o.speedup = Math.max(o.speedup, 120);
    o.kills = Math.min(o.kills, 3);
  }
  return o;
}

// ---------------------------------------------------------------- the model

type ModelState = 'unborn' | 'requested' | 'pickme' | 'added' | 'staged' | 'verified' | 'blessed' | 'live' | 'discarded' | 'delayed';

interface Story {
  readonly n: number;
  readonly user: string;
  readonly ref: string;
  readonly clone: number;
  readonly urgent: boolean;
  readonly hot: { readonly file: string; readonly line: number } | null;
  readonly ownPath: string;
  readonly openAt: number; // simulated minutes
  readonly repushAt: number | null;
  readonly forceRepush: boolean;
  readonly withdrawAt: number | null;
  version: number;
  id: number | null;
  state: ModelState;
  push: number | null;
  sha: string | null;
  /** The commit the request's first commit sits on. */
  base: string | null;
  log: string[];
  readonly lock: Mutex;
  /** Removed from a push for a conflict: the owner rebases onto master. */
  needsRebase: boolean;
}

interface PushModel {
  id: number;
  title: string;
  state: 'accepting' | 'staged' | 'blessed' | 'live' | 'discarded';
  tag: string | null;
}

const HOT_FILES = 20;
const HOT_LINES = 40;
const hotPath = (k: number) => `hot/shared-${String(k).padStart(2, '0')}.txt`;
const hotContent = (k: number) => Array.from({ length: HOT_LINES }, (_, i) => `shared file ${k} line ${i + 1}`).join('\n') + '\n';

// ---------------------------------------------------------------- the simulation

class Simulation {
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

  // ------------------------------------------------------------ setup

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

  makeStories(): void {
    const perDay = 3 * this.o.engineers * (this.dayMin / 480); // ≈1,500 for 500 engineers over 8 hours
    const total = Math.max(4, Math.round(perDay));
    const seq = new Map<string, number>();
    for (let n = 0; n < total; n++) {
      const user = `e${1 + Math.floor(this.rnd() * this.o.engineers)}`;
      const k = (seq.get(user) ?? 0) + 1;
      seq.set(user, k);
      // Arrivals through the whole day; busier in the first two thirds.
      const u = this.rnd();
      const openAt = this.dayMin * 0.97 * (u < 0.75 ? this.rnd() * 0.7 : 0.7 + this.rnd() * 0.3);
      const hot = this.rnd() < 0.25 ? { file: hotPath(Math.floor(this.rnd() * HOT_FILES)), line: Math.floor(this.rnd() * HOT_LINES) } : null;
      const repush = this.rnd() < 0.3;
      const withdraw = this.rnd() < 0.08;
      this.stories.push({
        n,
        user,
        ref: `refs/pushreq/${user}-${k}`,
        clone: n % this.o.clones,
        urgent: this.rnd() < 0.05,
        hot,
        ownPath: `teams/${user}/change-${k}.txt`,
        openAt,
        repushAt: repush ? openAt + 5 + this.rnd() * 55 : null,
        forceRepush: this.rnd() < 0.25,
        withdrawAt: withdraw ? openAt + 10 + this.rnd() * 110 : null,
        version: 0,
        id: null,
        state: 'unborn',
        push: null,
        sha: null,
        base: null,
        log: [],
        lock: new Mutex(),
        needsRebase: false,
      });
    }
  }

  // ------------------------------------------------------------ git side of an engineer

  /** Each clone's object reader and writer: commits are made in this process, not with six git processes. */
  private readonly objects = new Map<string, { cat: CatFileBatch; writer: ObjectWriter }>();
  objectsOf(clone: string): { cat: CatFileBatch; writer: ObjectWriter } {
    let o = this.objects.get(clone);
    if (!o) {
      const gitDir = join(clone, '.git');
      o = { cat: new CatFileBatch(gitDir), writer: new ObjectWriter(gitDir) };
      this.objects.set(clone, o);
    }
    return o;
  }

  /**
   * A commit for the story on `parent`: its own file at this version, plus its hot-file line. Written as
   * loose objects from this process: an engineer's laptop does this work, so the simulation keeps it off
   * the two cores it shares with the server (six git processes per commit held the engineers' pace to a
   * third of the plan).
   */
  async makeCommit(s: Story, parent: string, clone: string): Promise<string> {
    s.version++;
    const { cat, writer } = this.objectsOf(clone);
    const files = new Map<string, string>([[s.ownPath, await writer.blob(`${s.ref} version ${s.version}\nby ${s.user}\n`)]]);
    if (s.hot) {
      const lines = ((await cat.readText(`${parent}:${s.hot.file}`)) ?? '').split('\n');
      lines[s.hot.line] = `${s.ref}: edited by ${s.user}`;
      files.set(s.hot.file, await writer.blob(lines.join('\n')));
    }
    const root = /^tree ([0-9a-f]{40})$/m.exec((await cat.readText(parent)) ?? '')?.[1];
    if (!root) throw new Error(`simulate: cannot read commit ${parent} in ${clone}`);
    const tree = await this.treeWith(cat, writer, root, files);
    const title = `${s.urgent ? 'Urgent: ' : ''}change ${s.ref.slice(13)} v${s.version}`;
    return writer.commit({ tree, parents: [parent], author: { name: s.user, email: `${s.user}@example.com`, date: new Date().toISOString() }, message: `${title}\n` });
  }

  /** `treeSha` (null: empty) with `files` (path → blob id) put in, written bottom-up; returns the new tree's id. */
  async treeWith(cat: CatFileBatch, writer: ObjectWriter, treeSha: string | null, files: ReadonlyMap<string, string>): Promise<string> {
    const raw = treeSha ? await cat.read(treeSha) : null;
    const entries = new Map<string, TreeEntry>((raw ? parseTreeObject(raw) : []).map((e) => [e.name, { name: e.name, mode: e.mode as TreeEntry['mode'], sha: e.sha }]));
    const below = new Map<string, Map<string, string>>();
    for (const [path, sha] of files) {
      const slash = path.indexOf('/');
      if (slash < 0) entries.set(path, { name: path, mode: '100644', sha });
      else {
        const dir = path.slice(0, slash);
        if (!below.has(dir)) below.set(dir, new Map());
        below.get(dir)!.set(path.slice(slash + 1), sha);
      }
    }
    for (const [dir, inside] of below) {
      const old = entries.get(dir);
      entries.set(dir, { name: dir, mode: '40000', sha: await this.treeWith(cat, writer, old?.mode === '40000' ? old.sha : null, inside) });
    }
    return writer.tree([...entries.values()]);
  }

  async masterIn(c: { dir: string; epoch: number; master: string }): Promise<string> {
    if (c.epoch === this.masterEpoch) return c.master;
    const epoch = this.masterEpoch;
    await git(c.dir, ['fetch', '-q', this.remote('pm'), '+refs/heads/master:refs/remotes/origin/master'], {}, this.o.clientNice);
    c.master = await git(c.dir, ['rev-parse', 'refs/remotes/origin/master'], {}, this.o.clientNice);
    c.epoch = epoch;
    return c.master;
  }

  /** One `git push` as the story's owner: ok, refused by the server (with its reason), or failed (no answer). */
  async gitPush(s: Story, clone: string, spec: string, opts: string[], kind: string): Promise<{ outcome: 'ok' | 'refused' | 'failed'; text: string }> {
    if (this.o.generator === 'protocol' && !this.realGitStory(s)) return this.protocolPush(s, clone, spec, opts);
    const args = ['push', '--porcelain', ...opts.flatMap((x) => ['-o', x]), this.remote(s.user), spec];
    const r = await this.gitClients.run(() => run('git', args, { cwd: clone, timeoutMs: 120_000, nice: this.o.clientNice }));
    this.count('git pushes');
    const text = r.stdout + r.stderr;
    if (r.code === 0) {
      this.pushMs.push(r.ms);
      this.pushMsByKind[kind]?.push(r.ms);
      return { outcome: 'ok', text };
    }
    if (/\[remote rejected\]/.test(text) && this.up.isOpen && !/hook|declined|failed to/i.test(/\[remote rejected\][^\n]*/.exec(text)?.[0] ?? '')) return { outcome: 'refused', text };
    this.count('git pushes failed (no answer)');
    return { outcome: 'failed', text };
  }

  /** With the protocol generator, every n-th story keeps real `git push` (n = 1 / --git-sample). */
  realGitStory(s: Story): boolean {
    return this.o.gitSample > 0 && s.n % Math.max(1, Math.round(1 / this.o.gitSample)) === 0;
  }

  /**
   * The same push through the load generator: the pack is what the commit adds to its parent (which the
   * server has: master, or the request's previous commit), and the answer is rendered as `git push
   * --porcelain` prints it, so the callers read it exactly as they read git's.
   */
  async protocolPush(s: Story, clone: string, spec: string, opts: string[]): Promise<{ outcome: 'ok' | 'refused' | 'failed'; text: string }> {
    const force = spec.startsWith('+');
    const [src = '', ref = ''] = spec.replace(/^\+/, '').split(':');
    const pack = src ? buildPack(await objectsAddedByCommit(this.objectsOf(clone).cat, src)) : null;
    const url = this.remote(s.user);
    const a = await new ReceivePackClient({ url, timeoutMs: 120_000 }).push({ updates: [{ ref, new: src || ZERO_SHA }], options: opts, pack });
    this.count('git pushes');
    this.count('pushes by the protocol generator');
    const text = porcelainText(a, url, force);
    if (a.outcome === 'ok') {
      this.protoMs.push(a.ms);
      return { outcome: 'ok', text };
    }
    if (a.outcome === 'refused' && this.up.isOpen && !/hook|declined|failed to/i.test(/\[remote rejected\][^\n]*/.exec(text)?.[0] ?? '')) return { outcome: 'refused', text };
    this.count('git pushes failed (no answer)');
    return { outcome: 'failed', text };
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

  // ------------------------------------------------------------ engineer actions (shared lock + the story's lock)

  async openRequest(s: Story): Promise<void> {
    // Lock order everywhere: the clone, then the shared lock, then the story. A pushmaster step (the
    // exclusive lock) then waits only for pushes in flight, never for engineers queued on a clone.
    const c = this.clones[s.clone]!;
    await c.mutex.run(() =>
      this.lock.read(() =>
        s.lock.run(async () => {
          await this.up.wait();
          const master = await this.retryGit(() => this.masterIn(c));
          s.base = master;
          const sha = await this.makeCommit(s, master, c.dir);
          const opts = [`title=${s.ref.slice(13)}${s.urgent ? ' (urgent)' : ''}`, ...(s.urgent ? ['tags=urgent'] : [])];
          for (let attempt = 0; ; attempt++) {
            const acc = this.accepting();
            const r = await this.gitPush(s, c.dir, `${sha}:${s.ref}`, opts, 'open');
            if (r.outcome === 'ok') {
              const id = Number(/request (\d+) "[^"]*" opened/.exec(r.text)?.[1] ?? NaN);
              const state = /state: (\w+)/.exec(r.text)?.[1];
              if (!Number.isFinite(id)) {
                // Re-sent after an unanswered attempt that was recorded after all: the ref is already ours.
                const got = await this.settle(s);
                if (!got || got.sha !== sha) this.violation(`${s.ref}: push succeeded but no request with ${sha.slice(0, 8)} on the board`);
                else this.adopt(s, got, 'open (recorded before the crash)');
                return;
              }
              s.id = id;
              s.sha = sha;
              s.state = acc ? 'pickme' : 'requested';
              s.push = acc ? acc.id : null;
              if (state !== s.state) this.violation(`${s.ref} (request ${id}): opened as ${state}, the story says ${s.state}`);
              s.log.push(`open → ${s.state}`);
              this.count('requests opened');
              return;
            }
            const got = await this.settle(s);
            if (got && got.sha === sha && isActiveRequest(got as never)) {
              this.adopt(s, got, `open (${r.outcome}, recorded anyway)`);
              this.count('in-doubt pushes found recorded');
              return;
            }
            if (r.outcome === 'refused') this.unexpected(s, 'open', r.text);
            if (attempt > 20) {
              this.violation(`${s.ref}: could not open after ${attempt} attempts: ${r.text.slice(0, 300)}`);
              return;
            }
            this.count('pushes retried');
            await sleep(200 + this.rnd() * 500);
          }
        }),
      ),
    );
  }

  adopt(s: Story, r: StatusView['requests'][number], how: string): void {
    s.id = r.id;
    s.sha = r.sha;
    s.state = r.state as ModelState;
    s.push = r.push;
    s.log.push(`${how} → ${r.state}`);
  }

  unexpected(s: Story, what: string, text: string): void {
    const line = /\[remote rejected\][^\n]*/.exec(text)?.[0] ?? text.split('\n').find((l) => /error|refused/i.test(l)) ?? text.slice(0, 200);
    this.unexpectedRefusals.push(`${s.ref} ${what}: ${line}`);
  }

  /** A new commit on the request: a fast-forward, or (force) the same change made again on its base. */
  async repush(s: Story, kind: 'repush' | 'rebase'): Promise<void> {
    const c = this.clones[s.clone]!;
    await c.mutex.run(() =>
      this.lock.read(() =>
        s.lock.run(async () => {
          if (s.sha === null || !['requested', 'pickme', 'added', 'delayed'].includes(s.state)) {
            s.log.push(`${kind} skipped (${s.state})`);
            return;
          }
          if (kind === 'rebase' && !s.needsRebase) return;
          await this.up.wait();
          let parent: string;
          if (kind === 'rebase') {
            parent = await this.retryGit(() => this.masterIn(c));
            s.base = parent;
          } else parent = s.forceRepush ? s.base! : s.sha!;
          const sha = await this.makeCommit(s, parent, c.dir);
          const force = kind === 'rebase' || s.forceRepush;
          for (let attempt = 0; ; attempt++) {
            const r = await this.gitPush(s, c.dir, `${force ? '+' : ''}${sha}:${s.ref}`, [], kind);
            if (r.outcome === 'ok' && /updated [0-9a-f]+ -> [0-9a-f]+/.test(r.text)) {
              s.sha = sha;
              s.log.push(`${kind} ${force ? '(forced) ' : ''}→ ${s.state}`);
              if (kind === 'rebase') s.needsRebase = false;
              this.count(kind === 'rebase' ? 'rebased after removal' : 're-pushes');
              return;
            }
            const got = await this.settle(s);
            if (got && got.sha === sha) {
              if (r.outcome === 'ok' || r.outcome === 'failed') this.count('in-doubt pushes found recorded');
              s.sha = sha;
              if (got.state !== s.state) this.violation(`${s.ref}: after ${kind} the board says ${got.state}, the story ${s.state}`);
              if (kind === 'rebase') s.needsRebase = false;
              s.log.push(`${kind} (${r.outcome}, recorded) → ${s.state}`);
              return;
            }
            if (r.outcome === 'refused') this.unexpected(s, kind, r.text);
            if (attempt > 20) {
              this.violation(`${s.ref}: ${kind} failed ${attempt} times: ${r.text.slice(0, 300)}`);
              return;
            }
            this.count('pushes retried');
            await sleep(200 + this.rnd() * 500);
          }
        }),
      ),
    );
  }

  async withdraw(s: Story): Promise<void> {
    const c = this.clones[s.clone]!;
    await c.mutex.run(() =>
      this.lock.read(() =>
        s.lock.run(async () => {
          if (s.sha === null || !['requested', 'pickme', 'added', 'delayed'].includes(s.state)) {
            s.log.push(`withdraw skipped (${s.state})`);
            return;
          }
          for (let attempt = 0; ; attempt++) {
            await this.up.wait();
            const r = await this.gitPush(s, c.dir, `:${s.ref}`, [], 'withdraw');
            const recorded = r.outcome === 'ok' && /withdrawn \(discarded/.test(r.text);
            const got = recorded ? undefined : await this.settle(s);
            if (recorded || (got && got.id === s.id && got.state === 'discarded')) {
              s.state = 'discarded';
              s.push = null;
              s.log.push(`withdraw${recorded ? '' : ` (${r.outcome}, recorded)`} → discarded`);
              this.count('withdrawn');
              return;
            }
            if (r.outcome === 'refused') this.unexpected(s, 'withdraw', r.text);
            if (attempt > 20) {
              this.violation(`${s.ref}: withdraw failed ${attempt} times: ${r.text.slice(0, 300)}`);
              return;
            }
            this.count('pushes retried');
            await sleep(200 + this.rnd() * 500);
          }
        }),
      ),
    );
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

  // ------------------------------------------------------------ API commands with crash handling

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

  // ------------------------------------------------------------ the pushmaster

  async runPush(i: number, total: number): Promise<void> {
    const slot = this.dayMin / total;
    const openAt = slot * i + slot * 0.05;
    const closeAt = slot * i + slot * 0.6;
    await this.until(openAt);
    const title = `Push ${i + 1} of the day`;
    const push = await this.lock.write(async () => {
      const before = await this.board();
      const known = new Set(before.pushes.map((p) => p.id));
      const r = await this.command('pm', { type: 'OpenPush', title, pushType: 'regular' }, { applied: (b) => b.pushes.some((p) => p.title === title && !known.has(p.id)) });
      if (!r.ok) throw new Error(`open push refused: ${r.error?.message}`);
      const b = await this.board();
      const p = b.pushes.find((x) => x.title === title && !known.has(x.id));
      if (!p) throw new Error('opened push not on the board');
      const model: PushModel = { id: p.id, title, state: 'accepting', tag: null };
      this.pushes.push(model);
      let picked = 0;
      for (const s of this.stories)
        if (s.state === 'requested') {
          s.state = 'pickme';
          s.push = p.id;
          s.log.push(`push ${p.id} opened → pickme`);
          picked++;
        }
      this.notes.push(`push ${p.id} opened at ${this.simNow().toFixed(0)} sim-min with ${picked} waiting requests picked`);
      return model;
    });
    // Accept in rounds while the push is open for pickmes.
    const rounds = 4;
    for (let k = 1; k <= rounds; k++) {
      await this.until(openAt + ((closeAt - openAt) * k) / rounds);
      await this.lock.write(() => this.acceptRound(push));
    }
    await this.lock.write(async () => {
      const staged = this.stories.filter((s) => s.push === push.id && s.state === 'added');
      if (!staged.length) {
        const r = await this.command('pm', { type: 'DiscardPush', push: push.id, reason: 'nothing accepted' }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'discarded' });
        if (!r.ok) this.violation(`discard of empty push ${push.id} refused: ${r.error?.message}`);
        push.state = 'discarded';
        for (const s of this.stories) if (s.push === push.id) Object.assign(s, { state: 'requested', push: null });
        return;
      }
      const t = performance.now();
      const r = await this.command('pm', { type: 'StagePush', push: push.id, env: 'stage-a' }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'staged', refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up') });
      if (!r.ok) throw new Error(`stage of push ${push.id} refused: ${r.error?.message}`);
      this.stageMs.push(performance.now() - t);
      push.state = 'staged';
      for (const s of staged) {
        s.state = 'staged';
        s.log.push(`push ${push.id} staged → staged`);
      }
    });
    if (push.state !== 'staged') return;
    // Each owner verifies their own change on stage, as themselves.
    const toVerify = this.stories.filter((s) => s.push === push.id && s.state === 'staged');
    await Promise.all(
      toVerify.map((s) =>
        this.verifiers.run(() =>
          this.lock.read(() =>
            s.lock.run(async () => {
              const r = await this.command(s.user, { type: 'VerifyRequest', request: s.id! }, { applied: (b) => b.requests.find((x) => x.id === s.id)?.state === 'verified' });
              if (!r.ok) {
                this.violation(`${s.user} could not verify request ${s.id}: ${r.error?.message}`);
                return;
              }
              if (Number.isFinite(r.ms)) this.verifyMs.push(r.ms);
              s.state = 'verified';
              s.log.push('verified by owner');
            }),
          ),
        ),
      ),
    );
    await this.lock.write(async () => {
      const r = await this.command('pm', { type: 'BlessPush', push: push.id, force: false }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'blessed', refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up') });
      if (!r.ok) throw new Error(`bless of push ${push.id} refused: ${r.error?.message}`);
      push.state = 'blessed';
      for (const s of this.stories) if (s.push === push.id && (s.state === 'staged' || s.state === 'verified')) s.state = 'blessed';
      const t = performance.now();
      const c = await this.command('pm', { type: 'CertifyPush', push: push.id, force: false }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'live', refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up') });
      if (!c.ok) throw new Error(`certify of push ${push.id} refused: ${c.error?.message}`);
      this.certifyMs.push(performance.now() - t);
      this.masterEpoch++;
      push.state = 'live';
      push.tag = (await this.board()).pushes.find((p) => p.id === push.id)?.tag ?? null;
      for (const s of this.stories)
        if (s.push === push.id) {
          if (s.state === 'blessed') {
            s.state = 'live';
            s.log.push(`push ${push.id} certified → live`);
            this.count('requests live');
          } else {
            s.log.push(`push ${push.id} certified without it (${s.state}) → requested`);
            s.state = 'requested';
            s.push = null;
          }
        }
      this.count('pushes certified');
    });
  }

  /** Accept every pickme that merges; remove (with the reason) the ones that do not. */
  async acceptRound(push: PushModel): Promise<void> {
    const board = await this.board();
    const pushView = board.pushes.find((p) => p.id === push.id);
    if (!pushView) return;
    const reqs = new Map(board.requests.map((r) => [r.id as number, r]));
    const order = pushView.requests.filter((id) => this.byId(id)?.state === 'pickme');
    // Pickmes the server already found in conflict with master cannot merge: out first, with the reason.
    const queue: number[] = [];
    for (const id of order) {
      const r = reqs.get(id)!;
      const s = this.byId(id)!;
      const withMaster = r.sha === s.sha ? r.conflicts.find((c) => c.with === 'master') : undefined;
      if (withMaster) await this.remove(push, s, `conflicts with master in ${withMaster.files.join(', ')}; rebase and push again`);
      else queue.push(id);
    }
    for (let i = 0; i < queue.length; ) {
      const chunk = queue.slice(i, i + 25).filter((id) => this.byId(id)?.state === 'pickme');
      if (!chunk.length) {
        i += 25;
        continue;
      }
      const t = performance.now();
      const r = await this.command('pm', { type: 'AcceptRequests', push: push.id, requests: chunk }, {
        applied: (b) => chunk.every((id) => b.requests.find((x) => x.id === id)?.state === 'added'),
        refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up'),
      });
      if (r.ok) {
        this.acceptMs.push(performance.now() - t);
        this.count('accepted');
        for (const id of chunk) {
          const s = this.byId(id)!;
          s.state = 'added';
          s.log.push(`accepted into push ${push.id} → added`);
        }
        i += 25;
        continue;
      }
      const failed = Number(r.error?.data.request ?? NaN);
      const s = this.byId(failed);
      if (r.error?.code === 'merge-conflict' && s) {
        await this.remove(push, s, `does not merge onto the deploy branch: ${(r.error.data.files as string[] | undefined)?.join(', ') ?? 'conflict'}`);
        queue.splice(queue.indexOf(failed), 1);
        continue;
      }
      this.violation(`accept of ${chunk.join(',')} into push ${push.id} refused: ${r.error?.code} ${r.error?.message}`);
      i += 25;
    }
  }

  async remove(push: PushModel, s: Story, reason: string): Promise<void> {
    const r = await this.command('pm', { type: 'RemoveRequest', push: push.id, request: s.id!, reason }, { applied: (b) => { const x = b.requests.find((q) => q.id === s.id); return x?.state === 'requested' && x.push === null; } });
    if (!r.ok) {
      this.violation(`remove of request ${s.id} from push ${push.id} refused: ${r.error?.message}`);
      return;
    }
    this.count('removed for conflicts');
    s.state = 'requested';
    s.push = null;
    s.needsRebase = true;
    s.log.push(`removed from push ${push.id} (${reason}) → requested`);
    // The owner rebases onto master a little later.
    const at = this.simNow() + 2 + this.rnd() * 13;
    this.spawn(this.until(at).then(() => this.repush(s, 'rebase')));
  }

  // ------------------------------------------------------------ the baseline, under the same load

  async baseline(): Promise<void> {
    const bare = join(this.dir, 'plain', 'main.git');
    await git(this.dir, ['clone', '-q', '--bare', this.gitDir, bare]);
    const plain = await startPlainGitServer(bare);
    const work = join(this.dir, 'plain-clone');
    await git(this.dir, ['clone', '-q', '--no-checkout', plain.url, work]);
    const head = await git(work, ['rev-parse', 'HEAD']);
    const tree = await git(work, ['rev-parse', 'HEAD^{tree}']);
    try {
      for (let i = 0; !this.stopping; i++) {
        const sha = await git(work, ['commit-tree', tree, '-p', head, '-m', `baseline ${i}`], {}, this.o.clientNice);
        const r = await run('git', ['push', '--porcelain', plain.url, `${sha}:refs/heads/b${i}`], { cwd: work, timeoutMs: 60_000, nice: this.o.clientNice });
        if (r.code === 0 && i >= 2) this.plainMs.push(r.ms);
        await sleep(1500 + this.rnd() * 1000);
      }
    } finally {
      await plain.close();
    }
  }

  // ------------------------------------------------------------ background work: sampling, kills

  private readonly tasks = new Set<Promise<unknown>>();
  spawn(p: Promise<unknown>): void {
    const q = p.catch((e: unknown) => this.violation(`task failed: ${(e as Error).stack ?? String(e)}`));
    this.tasks.add(q);
    void q.finally(() => this.tasks.delete(q));
  }

  async sampler(): Promise<void> {
    let tick = 0;
    while (!this.stopping) {
      const st = this.server.stats();
      if (st) this.take(st);
      if (this.up.isOpen) {
        // /metrics every 5 s (rendering it is work the server would not do every second in production,
        // where Prometheus scrapes every 15-60 s), and just before each kill; the queue depth every second.
        if (tick % 5 === 0) await this.scrape();
        try {
          const h = (await (await fetch(`${this.server.url}/healthz`)).json()) as { pending?: number };
          if (typeof h.pending === 'number') this.queueDepth.push(h.pending);
        } catch {
          /* killed meanwhile */
        }
      }
      if (++tick % 30 === 0)
        process.stderr.write(
          `simulate: ${this.simNow().toFixed(0)}/${this.dayMin} sim-min · ${this.counts['requests opened'] ?? 0} opened · ${this.counts['requests live'] ?? 0} live · ${this.counts['pushes certified'] ?? 0} pushes certified · ${this.kills} kills · p95 push ${percentile(this.pushMs, 95).toFixed(0)} ms · server ${this.up.isOpen ? 'up' : 'down'}\n`,
        );
      await sleep(1000);
    }
  }

  /** The server's histograms so far, kept until the process ends (bank). */
  async scrape(): Promise<void> {
    const m = await scrapeMetrics(this.server.url);
    if (m) this.lastScrape = m;
  }

  /** One sample of the server process (a process on its way out may have no memory figures). */
  take(st: { rssKb: number; hwmKb: number; cpuMs: number }): void {
    if (Number.isFinite(st.rssKb)) this.rssMaxKb = Math.max(this.rssMaxKb, st.rssKb);
    if (Number.isFinite(st.hwmKb)) this.hwmMaxKb = Math.max(this.hwmMaxKb, st.hwmKb);
    if (Number.isFinite(st.cpuMs) && st.cpuMs >= this.cpuMsCurrent) this.cpuMsCurrent = st.cpuMs;
  }

  /** The end of one server process: keep its last figures. */
  bank(): void {
    this.cpuMsDone += this.cpuMsCurrent;
    this.cpuMsCurrent = 0;
    if (this.lastScrape) for (const [k, h] of this.lastScrape) this.metrics.set(k, addHistogram(this.metrics.get(k), h));
    this.lastScrape = null;
  }

  async killer(times: number[]): Promise<void> {
    for (const at of times) {
      await sleep(this.t0 + at - performance.now());
      if (this.stopping) return;
      this.up.close();
      await this.scrape();
      const st = this.server.stats();
      if (st) this.take(st);
      this.bank();
      await this.server.kill();
      this.kills++;
      await sleep(300 + this.rnd() * 700); // orphaned git processes of the dead server finish or fail
      await this.checkRepo(`after kill ${this.kills} (before restart)`, { beforeReconcile: true });
      this.restartMs.push(await this.server.start(60_000));
      this.incarnations++;
      await this.checkLive(`after restart ${this.kills}`);
      this.up.open();
    }
  }

  // ------------------------------------------------------------ invariants

  /** State, refs and deploy branches read straight from the repository (the server is down). */
  async checkRepo(when: string, opts: { beforeReconcile?: boolean } = {}): Promise<Board | null> {
    const store = new GitStateStore(new GitCli(this.gitDir), this.gitDir, 'refs/heads/pushmanager/meta');
    try {
      const { board } = await store.read();
      const refs = await this.refMap();
      this.checkRefs(when, board, refs, opts.beforeReconcile ?? false);
      const fsck = await run('git', ['fsck', '--no-dangling', '--no-progress', '--connectivity-only'], { cwd: this.gitDir });
      if (fsck.code !== 0 || /error|missing|broken/i.test(fsck.stdout + fsck.stderr)) this.violation(`${when}: git fsck: ${(fsck.stdout + fsck.stderr).slice(0, 500)}`);
      const locks = await run('find', [this.gitDir, '-name', '*.lock'], {});
      if (locks.stdout.trim()) this.notes.push(`${when}: lock files left behind: ${locks.stdout.trim().split('\n').join(', ')}`);
      return board;
    } finally {
      store.close();
    }
  }

  async refMap(): Promise<Map<string, string>> {
    const out = await git(this.gitDir, ['for-each-ref', '--format=%(objectname) %(refname)']);
    return new Map(out.split('\n').filter(Boolean).map((l) => [l.slice(41), l.slice(0, 40)] as const));
  }

  checkRefs(when: string, board: Board, refs: Map<string, string>, beforeReconcile: boolean): void {
    const problems: string[] = [];
    const activeByRef = new Map<string, number[]>();
    for (const r of Object.values(board.requests)) {
      if (!isActiveRequest(r)) continue;
      activeByRef.set(r.ref, [...(activeByRef.get(r.ref) ?? []), r.id]);
      const at = refs.get(r.ref);
      if (at !== r.sha) problems.push(`request ${r.id} ${r.ref} is at ${r.sha.slice(0, 8)} in the state, ref ${at ? at.slice(0, 8) : 'missing'}`);
    }
    for (const [ref, ids] of activeByRef) if (ids.length > 1) problems.push(`duplicate active requests for ${ref}: ${ids.join(', ')}`);
    for (const ref of refs.keys()) if (ref.startsWith('refs/pushreq/') && !activeByRef.has(ref)) problems.push(`${ref} exists with no active request`);
    for (const p of Object.values(board.pushes)) {
      const at = refs.get(p.deployBranch) ?? null;
      if (isOpenPush(p) && at !== p.deploySha) problems.push(`push ${p.id} (${p.state}): ${p.deployBranch} is ${at?.slice(0, 8) ?? 'missing'}, the state says ${p.deploySha?.slice(0, 8) ?? 'none'}`);
      if (!isOpenPush(p) && at) problems.push(`push ${p.id} is ${p.state} but ${p.deployBranch} still exists`);
    }
    for (const p of problems) (beforeReconcile ? this.notes : this.violations).push(`${when}: ${p}${beforeReconcile ? ' (before reconcile)' : ''}`);
    if (beforeReconcile && problems.length) this.count('drift found before reconcile', problems.length);
    if (!beforeReconcile) for (const p of problems) process.stderr.write(`simulate: VIOLATION ${when}: ${p}\n`);
  }

  /** After a restart, with every actor held: the board (as the server says) against the refs. */
  async checkLive(when: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const store = new GitStateStore(new GitCli(this.gitDir), this.gitDir, 'refs/heads/pushmanager/meta');
      try {
        const before = await git(this.gitDir, ['rev-parse', 'refs/heads/pushmanager/meta']);
        const refs = await this.refMap();
        const { board, version } = await store.read();
        // The server's own background work (conflict checks, rebuilds) may commit meanwhile: read again.
        if (version !== before || refs.get('refs/heads/pushmanager/meta') !== before) {
          await sleep(200);
          continue;
        }
        this.checkRefs(when, board, refs, false);
        return;
      } finally {
        store.close();
      }
    }
    this.notes.push(`${when}: the metadata branch kept moving; live check skipped`);
  }

  /** Every story against the board: one request per story, in the story's state, at its SHA. */
  checkStories(b: StatusView): void {
    const byRef = new Map<string, StatusView['requests'][number][]>();
    for (const r of b.requests) byRef.set(r.ref, [...(byRef.get(r.ref) ?? []), r]);
    const storyRefs = new Set(this.stories.map((s) => s.ref));
    let lost = 0;
    let dup = 0;
    let wrong = 0;
    for (const s of this.stories) {
      const found = byRef.get(s.ref) ?? [];
      if (s.state === 'unborn') {
        if (found.length) {
          wrong++;
          this.violation(`${s.ref}: never opened in the story, but the board has request(s) ${found.map((r) => r.id).join(', ')}`);
        }
        continue;
      }
      if (!found.length) {
        lost++;
        this.violation(`${s.ref}: LOST (story: ${s.log.join('; ')})`);
        continue;
      }
      if (found.length > 1) {
        dup++;
        this.violation(`${s.ref}: DUPLICATED as requests ${found.map((r) => `${r.id} (${r.state})`).join(', ')}`);
      }
      const r = found.find((x) => x.id === s.id) ?? found[0]!;
      if (r.id !== s.id || r.state !== s.state || r.sha !== s.sha || (r.push ?? null) !== (s.push ?? null)) {
        wrong++;
        this.violation(`${s.ref}: request ${r.id} is ${r.state} in push ${r.push} at ${r.sha.slice(0, 8)}; the story says ${s.id} ${s.state} in push ${s.push} at ${s.sha?.slice(0, 8)} (story: ${s.log.join('; ')})`);
      }
    }
    const strangers = b.requests.filter((r) => !storyRefs.has(r.ref));
    for (const r of strangers) this.violation(`request ${r.id} ${r.ref} (${r.state}) belongs to no story`);
    this.counts['lost requests'] = lost;
    this.counts['duplicated requests'] = dup;
    this.counts['requests in a state other than the story'] = wrong;
    this.counts['requests with no story'] = strangers.length;
  }

  // ------------------------------------------------------------ the run

  async run(): Promise<number> {
    const started = new Date();
    const load0 = loadavg().map((x) => x.toFixed(2)).join(' / ');
    await this.setup();
    this.makeStories();
    const pushCount = Math.max(2, Math.round((6 * this.o.hours) / 8));
    const realDayMs = (this.dayMin * 60_000) / this.o.speedup;
    process.stderr.write(
      `simulate: ${this.o.engineers} engineers, ${this.stories.length} requests, ${pushCount} pushes, ${this.o.hours} h at ${this.o.speedup}× (${(realDayMs / 1000).toFixed(0)} s), ${this.o.kills} kills, seed ${this.o.seed}; data in ${this.dir}\n`,
    );
    this.t0 = performance.now();
    const sampler = this.sampler();
    const baseline = this.baseline().catch((e: unknown) => this.notes.push(`baseline pushes failed: ${(e as Error).message}`));
    const killTimes = Array.from({ length: this.o.kills }, () => realDayMs * (0.03 + this.rnd() * 0.92)).sort((a, b) => a - b);
    const killer = this.killer(killTimes);
    for (const s of this.stories) {
      this.spawn(
        (async () => {
          await this.until(s.openAt);
          this.lagMs.push(Math.max(0, ((this.simNow() - s.openAt) * 60_000) / this.o.speedup));
          await this.openRequest(s);
          const next = [
            ...(s.repushAt !== null ? [{ at: s.repushAt, what: 'repush' as const }] : []),
            ...(s.withdrawAt !== null ? [{ at: s.withdrawAt, what: 'withdraw' as const }] : []),
          ].sort((a, b) => a.at - b.at);
          for (const step of next) {
            if (step.at > this.dayMin) break;
            await this.until(step.at);
            if (step.what === 'repush') await this.repush(s, 'repush');
            else await this.withdraw(s);
          }
        })(),
      );
    }
    const pushmaster = (async () => {
      for (let i = 0; i < pushCount; i++) await this.runPush(i, pushCount);
    })();
    this.spawn(pushmaster);
    await pushmaster.catch(() => undefined);
    await this.until(this.dayMin);
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
    await killer;
    const dayEnded = performance.now();
    // Quiet: the server's background checks finish.
    for (let i = 0; i < 50; i++) {
      const h = (await (await fetch(`${this.server.url}/healthz`)).json()) as { pending: number };
      if (!h.pending) break;
      await sleep(100);
    }
    await sleep(500);
    const board = await this.board();
    this.checkStories(board);
    const st = this.server.stats();
    if (st) this.take(st);
    const m = await scrapeMetrics(this.server.url);
    if (m) this.lastScrape = m;
    this.bank();
    this.stopping = true;
    await sampler;
    await baseline;
    await this.server.stop();
    for (const o of this.objects.values()) o.cat.close();
    const finalBoard = await this.checkRepo('at the end (server stopped)');
    // master is the last certified tag.
    const lastTag = [...this.pushes].reverse().find((p) => p.state === 'live')?.tag;
    const master = await git(this.gitDir, ['rev-parse', 'refs/heads/master']);
    let masterCheck = 'no push certified';
    if (lastTag) {
      const tagged = await git(this.gitDir, ['rev-parse', `refs/tags/${lastTag}^{commit}`]).catch(() => 'missing');
      masterCheck = tagged === master ? `master = ${lastTag} (${master.slice(0, 8)})` : `master ${master.slice(0, 8)} ≠ ${lastTag} ${tagged.slice(0, 8)}`;
      if (tagged !== master) this.violation(`master is not the last certified tag: ${masterCheck}`);
    }
    const merges = await git(this.gitDir, ['rev-list', '--count', '--merges', 'refs/heads/pushmanager/meta']);
    if (merges !== '0') this.violation(`the metadata branch has ${merges} merge commits: its history is not linear`);
    const metaCommits = await git(this.gitDir, ['rev-list', '--count', 'refs/heads/pushmanager/meta']);
    const elapsed = (performance.now() - this.t0) / 1000;
    const report = this.report({ started, load0, pushCount, elapsed, dayMs: dayEnded - this.t0, masterCheck, metaCommits: Number(metaCommits), finalRequests: finalBoard ? Object.keys(finalBoard.requests).length : NaN });
    console.log(report);
    if (this.o.report) {
      mkdirSync(dirname(this.o.report), { recursive: true });
      writeFileSync(this.o.report, report);
      console.log(`written to ${this.o.report}`);
    }
    if (!this.o.keep) rmSync(this.dir, { recursive: true, force: true });
    else console.log(`data kept in ${this.dir}`);
    return this.violations.length ? 1 : 0;
  }

  report(x: { started: Date; load0: string; pushCount: number; elapsed: number; dayMs: number; masterCheck: string; metaCommits: number; finalRequests: number }): string {
    const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v >= 100 ? 0 : 1)} ms` : 'n/a');
    const dist = (xs: number[]) => (xs.length ? `p50 ${ms(median(xs))} · p95 ${ms(percentile(xs, 95))} · p99 ${ms(percentile(xs, 99))} (n=${xs.length})` : 'n/a');
    const hist = (name: string) => {
      const h = this.metrics.get(name);
      if (!h?.count) return null;
      return `mean ${ms((h.sum / h.count) * 1000)} · p95 ≤ ${ms(histogramQuantile(h, 0.95) * 1000)} · p99 ≤ ${ms(histogramQuantile(h, 0.99) * 1000)} (n=${h.count}, bucket bounds, server's /metrics)`;
    };
    const hasMetrics = this.metrics.size > 0;
    // The five command types that held the writer longest in all, each with its count, mean and p95.
    const writerHeld = () => {
      const prefix = 'pushmanager_writer_held_seconds{command="';
      const rows = [...this.metrics].filter(([k, h]) => k.startsWith(prefix) && h.count > 0).sort((a, b) => b[1].sum - a[1].sum);
      if (!rows.length) return null;
      return rows
        .slice(0, 5)
        .map(([k, h]) => `${k.slice(prefix.length, -2)} n=${h.count} mean ${ms((h.sum / h.count) * 1000)} p95 ≤ ${ms(histogramQuantile(h, 0.95) * 1000)}`)
        .join(' · ');
    };
    const p95 = percentile(this.pushMs, 95);
    const recorded = this.metrics.get('pushmanager_push_to_recorded_seconds');
    const serverP95 = recorded?.count ? histogramQuantile(recorded, 0.95) : null;
    const rssMb = this.hwmMaxKb / 1024;
    const cpuS = (this.cpuMsDone + this.cpuMsCurrent) / 1000;
    const rows: [string, string, string][] = [
      ['push-to-recorded inside the server (hook call → request committed; the target applies here)', hist('pushmanager_push_to_recorded_seconds') ?? 'n/a (the histogram is not observed by this build of the server)', serverP95 === null ? '' : serverP95 <= 0.3 ? 'pass (p95 ≤ 300 ms)' : 'FAIL (p95 ≤ 300 ms)'],
      ['  push answered inside the server (hook call → answer to git, conflict lines included)', hist('pushmanager_push_answered_seconds') ?? 'n/a', ''],
      ['push as the engineer sees it (client `git push` wall time, all kinds; includes the client\'s own git work)', dist(this.pushMs), 'reported (see baseline)'],
      ...(this.o.generator === 'protocol' ? [['pushes by the protocol load generator (GET + POST wall time, all kinds; the engineer\'s-eye figure above is the real `git push` sample)', dist(this.protoMs), ''] as [string, string, string]] : []),
      ['  baseline: plain `git push` to bare http-backend, sampled every ~2 s in the same run', `${dist(this.plainMs)}; ratio of medians ${(median(this.pushMs) / median(this.plainMs)).toFixed(2)}, of p95 ${(p95 / percentile(this.plainMs, 95)).toFixed(2)}`, ''],
      ['  new requests', dist(this.pushMsByKind.open!), ''],
      ['  re-pushes', dist(this.pushMsByKind.repush!), ''],
      ['  rebases after removal (forced)', dist(this.pushMsByKind.rebase!), ''],
      ['  withdrawals (ref deleted)', dist(this.pushMsByKind.withdraw!), ''],
      ['deploy-branch rebuild', hist('pushmanager_rebuild_seconds') ?? `accept command round trip (rebuild included): ${dist(this.acceptMs)}`, ''],
      ['  accept command round trip (25 requests at most, rebuild included)', dist(this.acceptMs), ''],
      ['conflict check', hist('pushmanager_conflict_check_seconds') ?? 'n/a (no /metrics in this build)', ''],
      ['state write (one command committed; the server times read + decide + plan + commit, so accepts include their build)', hist('pushmanager_state_write_seconds') ?? `verify command round trip (HTTP + one commit): ${dist(this.verifyMs)}`, ''],
      ['  verify command round trip (as the owner, HTTP + one commit)', dist(this.verifyMs), ''],
      ['  the single writer held, by command (what a push queued behind)', writerHeld() ?? 'n/a', ''],
      ['repository maintenance (pack-refs, repack, prune; in the background)', hist('pushmanager_repo_maintenance_seconds') ?? 'no run', ''],
      ['  stage / certify command round trip', `${dist(this.stageMs)} / ${dist(this.certifyMs)}`, ''],
      ['server RSS, peak (VmHWM, max over processes)', `${rssMb.toFixed(0)} MB (VmRSS max sampled ${(this.rssMaxKb / 1024).toFixed(0)} MB)`, rssMb <= 200 ? 'pass (≤ 200 MB)' : 'FAIL (≤ 200 MB)'],
      ['server CPU (utime + stime, all processes)', `${cpuS.toFixed(1)} s over ${(x.elapsed).toFixed(0)} s = ${((100 * cpuS) / x.elapsed).toFixed(0)}% of one core (hooks and git children not included)`, ''],
      ['server kills (SIGKILL) / restarts', `${this.kills} / ${this.incarnations - 1}; start-up incl. reconcile ${dist(this.restartMs.slice(1))}`, this.o.kills ? (this.kills >= this.o.kills ? 'pass' : 'FAIL') : ''],
      ['schedule lag (engineer action start vs plan)', dist(this.lagMs), ''],
      ['server write queue depth (sampled each second)', this.queueDepth.length ? `p50 ${median(this.queueDepth)} · p95 ${percentile(this.queueDepth, 95)} · max ${Math.max(...this.queueDepth)}` : 'n/a', ''],
      ['lost / duplicated requests', `${this.counts['lost requests'] ?? 0} / ${this.counts['duplicated requests'] ?? 0}`, (this.counts['lost requests'] ?? 0) + (this.counts['duplicated requests'] ?? 0) === 0 ? 'pass' : 'FAIL'],
      ['requests not in their story\'s state / with no story', `${this.counts['requests in a state other than the story'] ?? 0} / ${this.counts['requests with no story'] ?? 0}`, (this.counts['requests in a state other than the story'] ?? 0) + (this.counts['requests with no story'] ?? 0) === 0 ? 'pass' : 'FAIL'],
      ['master = last certified tag', x.masterCheck, /≠/.test(x.masterCheck) ? 'FAIL' : 'pass'],
      ['refs, deploy branches and state agree; fsck', this.violations.some((v) => /ref|deploy|fsck|duplicate active/.test(v)) ? 'no (see violations)' : 'yes, after every restart and at the end', this.violations.some((v) => /ref|deploy|fsck|duplicate active/.test(v)) ? 'FAIL' : 'pass'],
      ['correctness violations in all', String(this.violations.length), this.violations.length ? 'FAIL' : 'pass'],
    ];
    const table = ['| figure | value | target |', '|---|---|---|', ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)].join('\n');
    const counts = Object.entries(this.counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ');
    const storyStates = new Map<string, number>();
    for (const s of this.stories) storyStates.set(s.state, (storyStates.get(s.state) ?? 0) + 1);
    return [
      '# Day-in-the-life simulation (`npm run simulate`)',
      '',
      `Run ${x.started.toISOString()}: ${this.o.engineers} engineers, ${this.o.hours} h compressed ${this.o.speedup}× (${((this.dayMin * 60) / this.o.speedup).toFixed(0)} s), ${x.pushCount} pushes, ${this.o.kills} kills asked, seed ${this.o.seed}, ${this.o.clones} working clones; the engineers' git clients run at nice ${this.o.clientNice} (on laptops in real life, here they share the server's 2 cores). Pushes by ${this.o.generator === 'protocol' ? `the protocol load generator (bench/load/), ${this.o.gitSample > 0 ? `with real \`git push\` for 1 story in ${Math.max(1, Math.round(1 / this.o.gitSample))}` : 'with no real `git push` sample'}` : 'real `git push` only'}.`,
      `Wall time ${x.elapsed.toFixed(0)} s (the simulated day took ${(x.dayMs / 1000).toFixed(0)} s). Machine: ${cpus().length} cores, node ${process.version}, load average at start ${x.load0}; the machine may have been loaded by other work.`,
      `Arrival rate the server saw: ${((this.counts['git pushes'] ?? 0) / x.elapsed).toFixed(2)} pushes/s over the run; the plan asks ${((this.stories.length + this.stories.filter((s) => s.repushAt !== null).length + this.stories.filter((s) => s.withdrawAt !== null).length) / ((this.dayMin * 60) / this.o.speedup)).toFixed(2)}/s over ${((this.dayMin * 60) / this.o.speedup).toFixed(0)} s. When the run took longer than the day, the engineers' side (shared clones, git clients on the same cores) set the pace, not the server.`,
      `Metrics from the server's /metrics: ${hasMetrics ? 'yes (summed over every server process)' : 'not available in this build; client-side timings instead'}.`,
      '',
      table,
      '',
      `Stories: ${this.stories.length} requests planned; final states ${[...storyStates].map(([k, v]) => `${k} ${v}`).join(', ')}. Metadata branch: ${x.metaCommits} commits, ${x.finalRequests} requests.`,
      '',
      `Counts: ${counts}.`,
      '',
      ...(this.unexpectedRefusals.length ? [`Refusals the story did not expect (${this.unexpectedRefusals.length}; settled against the board):`, '', ...this.unexpectedRefusals.slice(0, 20).map((u) => `- ${u}`), ''] : []),
      ...(this.violations.length ? [`Violations (${this.violations.length}):`, '', ...this.violations.slice(0, 50).map((v) => `- ${v}`), ''] : ['No correctness violation.', '']),
      ...(this.notes.length ? ['Notes:', '', ...this.notes.slice(0, 40).map((n) => `- ${n}`), ''] : []),
    ].join('\n');
  }
}

const opts = parseArgs(process.argv.slice(2));
new Simulation(opts).run().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  },
);
