// The engineers, as actors: each story's owner makes commits (plumbing, in this process: an
// engineer's laptop does that work), pushes them with real `git push` or through the protocol
// load generator, re-pushes, rebases after a removal and withdraws, and settles every push without
// a clear answer against what the server recorded. Each action updates the story's expected state.
import { join } from 'node:path';
import { CatFileBatch, parseTreeObject } from '../../server/git/cat-file.js';
import { ObjectWriter, type TreeEntry } from '../../server/git/object-writer.js';
import { isActiveRequest } from '../../state/model.js';
import type { StatusView } from '../../state/status-view.js';
import { git, run } from '../lib/proc.js';
import { sleep } from '../lib/sync.js';
import { buildPack, objectsAddedByCommit } from '../load/pack.js';
import { porcelainText, ReceivePackClient, ZERO_SHA } from '../load/receive-pack-client.js';
import type { ModelState, Story } from './workload.js';
import type { World } from './world.js';

export class Engineers {
  constructor(readonly w: World) {}

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
    if (c.epoch === this.w.masterEpoch) return c.master;
    const epoch = this.w.masterEpoch;
    await git(c.dir, ['fetch', '-q', this.w.remote('pm'), '+refs/heads/master:refs/remotes/origin/master'], {}, this.w.o.clientNice);
    c.master = await git(c.dir, ['rev-parse', 'refs/remotes/origin/master'], {}, this.w.o.clientNice);
    c.epoch = epoch;
    return c.master;
  }

  /** One `git push` as the story's owner: ok, refused by the server (with its reason), or failed (no answer). */
  async gitPush(s: Story, clone: string, spec: string, opts: string[], kind: string): Promise<{ outcome: 'ok' | 'refused' | 'failed'; text: string }> {
    if (this.w.o.generator === 'protocol' && !this.realGitStory(s)) return this.protocolPush(s, clone, spec, opts);
    const args = ['push', '--porcelain', ...opts.flatMap((x) => ['-o', x]), this.w.remote(s.user), spec];
    const r = await this.w.gitClients.run(() => run('git', args, { cwd: clone, timeoutMs: 120_000, nice: this.w.o.clientNice }));
    this.w.count('git pushes');
    const text = r.stdout + r.stderr;
    if (r.code === 0) {
      this.w.pushMs.push(r.ms);
      this.w.pushMsByKind[kind]?.push(r.ms);
      return { outcome: 'ok', text };
    }
    if (/\[remote rejected\]/.test(text) && this.w.up.isOpen && !/hook|declined|failed to/i.test(/\[remote rejected\][^\n]*/.exec(text)?.[0] ?? '')) return { outcome: 'refused', text };
    this.w.count('git pushes failed (no answer)');
    return { outcome: 'failed', text };
  }

  /** With the protocol generator, every n-th story keeps real `git push` (n = 1 / --git-sample). */
  realGitStory(s: Story): boolean {
    return this.w.o.gitSample > 0 && s.n % Math.max(1, Math.round(1 / this.w.o.gitSample)) === 0;
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
    const url = this.w.remote(s.user);
    const a = await new ReceivePackClient({ url, timeoutMs: 120_000 }).push({ updates: [{ ref, new: src || ZERO_SHA }], options: opts, pack });
    this.w.count('git pushes');
    this.w.count('pushes by the protocol generator');
    const text = porcelainText(a, url, force);
    if (a.outcome === 'ok') {
      this.w.protoMs.push(a.ms);
      return { outcome: 'ok', text };
    }
    if (a.outcome === 'refused' && this.w.up.isOpen && !/hook|declined|failed to/i.test(/\[remote rejected\][^\n]*/.exec(text)?.[0] ?? '')) return { outcome: 'refused', text };
    this.w.count('git pushes failed (no answer)');
    return { outcome: 'failed', text };
  }

  async openRequest(s: Story): Promise<void> {
    // Lock order everywhere: the clone, then the shared lock, then the story. A pushmaster step (the
    // exclusive lock) then waits only for pushes in flight, never for engineers queued on a clone.
    const c = this.w.clones[s.clone]!;
    await c.mutex.run(() =>
      this.w.lock.read(() =>
        s.lock.run(async () => {
          await this.w.up.wait();
          const master = await this.w.retryGit(() => this.masterIn(c));
          s.base = master;
          const sha = await this.makeCommit(s, master, c.dir);
          const opts = [`title=${s.ref.slice(13)}${s.urgent ? ' (urgent)' : ''}`, ...(s.urgent ? ['tags=urgent'] : [])];
          for (let attempt = 0; ; attempt++) {
            const acc = this.w.accepting();
            const r = await this.gitPush(s, c.dir, `${sha}:${s.ref}`, opts, 'open');
            if (r.outcome === 'ok') {
              const id = Number(/request (\d+) "[^"]*" opened/.exec(r.text)?.[1] ?? NaN);
              const state = /state: (\w+)/.exec(r.text)?.[1];
              if (!Number.isFinite(id)) {
                // Re-sent after an unanswered attempt that was recorded after all: the ref is already ours.
                const got = await this.w.settle(s);
                if (!got || got.sha !== sha) this.w.violation(`${s.ref}: push succeeded but no request with ${sha.slice(0, 8)} on the board`);
                else this.adopt(s, got, 'open (recorded before the crash)');
                return;
              }
              s.id = id;
              s.sha = sha;
              s.state = acc ? 'pickme' : 'requested';
              s.push = acc ? acc.id : null;
              if (state !== s.state) this.w.violation(`${s.ref} (request ${id}): opened as ${state}, the story says ${s.state}`);
              s.log.push(`open → ${s.state}`);
              this.w.count('requests opened');
              return;
            }
            const got = await this.w.settle(s);
            if (got && got.sha === sha && isActiveRequest(got as never)) {
              this.adopt(s, got, `open (${r.outcome}, recorded anyway)`);
              this.w.count('in-doubt pushes found recorded');
              return;
            }
            if (r.outcome === 'refused') this.unexpected(s, 'open', r.text);
            if (attempt > 20) {
              this.w.violation(`${s.ref}: could not open after ${attempt} attempts: ${r.text.slice(0, 300)}`);
              return;
            }
            this.w.count('pushes retried');
            await sleep(200 + this.w.rnd() * 500);
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
    this.w.unexpectedRefusals.push(`${s.ref} ${what}: ${line}`);
  }

  /** A new commit on the request: a fast-forward, or (force) the same change made again on its base. */
  async repush(s: Story, kind: 'repush' | 'rebase'): Promise<void> {
    const c = this.w.clones[s.clone]!;
    await c.mutex.run(() =>
      this.w.lock.read(() =>
        s.lock.run(async () => {
          if (s.sha === null || !['requested', 'pickme', 'added', 'delayed'].includes(s.state)) {
            s.log.push(`${kind} skipped (${s.state})`);
            return;
          }
          if (kind === 'rebase' && !s.needsRebase) return;
          await this.w.up.wait();
          let parent: string;
          if (kind === 'rebase') {
            parent = await this.w.retryGit(() => this.masterIn(c));
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
              this.w.count(kind === 'rebase' ? 'rebased after removal' : 're-pushes');
              return;
            }
            const got = await this.w.settle(s);
            if (got && got.sha === sha) {
              if (r.outcome === 'ok' || r.outcome === 'failed') this.w.count('in-doubt pushes found recorded');
              s.sha = sha;
              if (got.state !== s.state) this.w.violation(`${s.ref}: after ${kind} the board says ${got.state}, the story ${s.state}`);
              if (kind === 'rebase') s.needsRebase = false;
              s.log.push(`${kind} (${r.outcome}, recorded) → ${s.state}`);
              return;
            }
            if (r.outcome === 'refused') this.unexpected(s, kind, r.text);
            if (attempt > 20) {
              this.w.violation(`${s.ref}: ${kind} failed ${attempt} times: ${r.text.slice(0, 300)}`);
              return;
            }
            this.w.count('pushes retried');
            await sleep(200 + this.w.rnd() * 500);
          }
        }),
      ),
    );
  }

  async withdraw(s: Story): Promise<void> {
    const c = this.w.clones[s.clone]!;
    await c.mutex.run(() =>
      this.w.lock.read(() =>
        s.lock.run(async () => {
          if (s.sha === null || !['requested', 'pickme', 'added', 'delayed'].includes(s.state)) {
            s.log.push(`withdraw skipped (${s.state})`);
            return;
          }
          for (let attempt = 0; ; attempt++) {
            await this.w.up.wait();
            const r = await this.gitPush(s, c.dir, `:${s.ref}`, [], 'withdraw');
            const recorded = r.outcome === 'ok' && /withdrawn \(discarded/.test(r.text);
            const got = recorded ? undefined : await this.w.settle(s);
            if (recorded || (got && got.id === s.id && got.state === 'discarded')) {
              s.state = 'discarded';
              s.push = null;
              s.log.push(`withdraw${recorded ? '' : ` (${r.outcome}, recorded)`} → discarded`);
              this.w.count('withdrawn');
              return;
            }
            if (r.outcome === 'refused') this.unexpected(s, 'withdraw', r.text);
            if (attempt > 20) {
              this.w.violation(`${s.ref}: withdraw failed ${attempt} times: ${r.text.slice(0, 300)}`);
              return;
            }
            this.w.count('pushes retried');
            await sleep(200 + this.w.rnd() * 500);
          }
        }),
      ),
    );
  }

  /** Closes the clones' object readers (at the end of the run). */
  close(): void {
    for (const o of this.objects.values()) o.cat.close();
  }
}
