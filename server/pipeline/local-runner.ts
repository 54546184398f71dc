// The local runner (SPEC §6, runner: local): runs a job's argument array in its own checkout of the
// SHA under the data dir, in its own process group, with an environment built from an allow-list,
// `concurrency` jobs at a time, output kept as a bounded log that can be followed live. It knows
// nothing of pushes or gates: the caller submits jobs and records what `onUpdate` reports.
//
// Layout under DATA/jobs/: work/ID/{src,home,tmp,index} while a job runs (removed after),
// logs/ID.log kept for `log.retentionDays`. See docs/decisions.md for why.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { GitCli, GitError } from '../git/git-cli.js';
import { JobLog, readLogEnd } from './job-log.js';
import { expandArgs, PlaceholderError } from './pipeline-config.js';
import { bootId, endGroup, procStat } from './process-group.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export interface LocalJobSpec {
  /** The job's id (state/jobs.ts); also names its work dir and log, so letters, digits, ".", "_", "-". */
  readonly id: string;
  readonly name: string;
  readonly sha: string;
  readonly push: number;
  readonly branch: string;
  /** The stage environment (stage and bless jobs). */
  readonly env?: string;
  readonly attempt?: number;
  /** As configured: placeholders are expanded here. */
  readonly run: readonly string[];
  readonly timeoutSec: number;
}

export type LocalJobOutcome = 'passed' | 'failed' | 'cancelled' | 'interrupted';

export interface LocalJobResult {
  readonly id: string;
  readonly state: LocalJobOutcome;
  readonly exitCode?: number;
  readonly signal?: string;
  /** In words, for people: "timed out after 60 s", "exit code 3". */
  readonly reason: string;
  /** Failed before its command ran (a bad placeholder, no checkout, a command that cannot start): no red build. */
  readonly notRun?: true;
  /** The log, relative to the data dir. */
  readonly log: string;
  readonly startedAt: Date | null;
  readonly finishedAt: Date;
}

/** Why a job's program did not start, in words a pushmaster acts on; the errno stays for searching. */
function startError(err: Error & { code?: string }, program: string): string {
  const where = program.includes('/') ? 'in the checkout' : 'on the PATH the job gets';
  if (err.code === 'ENOENT') return `ENOENT (not found ${where})`;
  if (err.code === 'EACCES') return `EACCES (not executable: chmod +x it, or run it through its interpreter)`;
  return err.code ?? err.message;
}

export type LocalJobUpdate =
  | { readonly type: 'started'; readonly id: string; readonly at: Date; readonly pgid: number; readonly startTicks: number; readonly bootId: string; readonly log: string }
  | ({ readonly type: 'finished' } & LocalJobResult);

export interface LocalRunnerOptions {
  /** The managed (bare) repository the checkouts are made from; it is only read. */
  readonly repoDir: string;
  readonly dataDir: string;
  readonly concurrency: number;
  /** After SIGTERM to a job's group, SIGKILL follows after this long. */
  readonly killGraceMs: number;
  readonly log: { readonly maxBytes: number; readonly tailBytes: number; readonly retentionDays: number };
  /** Names of server variables a job also gets (config `pipeline.passEnv`). */
  readonly passEnv?: readonly string[];
  /** The server's environment, read for PATH, LANG, TZ and passEnv only (default process.env). */
  readonly serverEnv?: NodeJS.ProcessEnv;
  readonly onUpdate?: (u: LocalJobUpdate) => void;
}

export type LocalRunnerErrorCode = 'pipeline-bad-job-id' | 'pipeline-job-exists' | 'pipeline-unknown-job' | 'pipeline-runner-closed';

export class LocalRunnerError extends PushmanagerError {
  constructor(
    readonly code: LocalRunnerErrorCode,
    message: string,
    data: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, data);
  }
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface Entry {
  readonly spec: LocalJobSpec;
  status: 'queued' | 'checkout' | 'running' | 'finished';
  cancel?: string;
  shutdown?: boolean;
  timedOut?: boolean;
  log?: JobLog;
  child?: ChildProcess;
  pgid?: number;
  startedAt: Date | null;
  result?: LocalJobResult;
  readonly done: Promise<LocalJobResult>;
  resolve(r: LocalJobResult): void;
}

/** The environment a job runs with: nothing of the server's but what is named here (docs/decisions.md). */
export function jobEnvironment(spec: LocalJobSpec, dirs: { home: string; tmp: string }, serverEnv: NodeJS.ProcessEnv, passEnv: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {
    PATH: serverEnv.PATH || '/usr/local/bin:/usr/bin:/bin',
    HOME: dirs.home,
    TMPDIR: dirs.tmp,
    LANG: serverEnv.LANG || 'C.UTF-8',
    CI: 'true',
    PUSHMANAGER_JOB_ID: spec.id,
    PUSHMANAGER_JOB_NAME: spec.name,
    PUSHMANAGER_JOB_SHA: spec.sha,
    PUSHMANAGER_JOB_PUSH: String(spec.push),
    PUSHMANAGER_JOB_BRANCH: spec.branch,
    PUSHMANAGER_JOB_ATTEMPT: String(spec.attempt ?? 1),
  };
  if (spec.env !== undefined) env.PUSHMANAGER_JOB_ENV = spec.env;
  if (serverEnv.TZ) env.TZ = serverEnv.TZ;
  for (const name of passEnv) {
    const v = serverEnv[name];
    if (v !== undefined && !name.startsWith('PUSHMANAGER_')) env[name] = v;
  }
  return env;
}

export class LocalRunner {
  private readonly jobs = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private running = 0;
  private closed = false;
  private readonly git: GitCli;
  readonly jobsDir: string;

  constructor(private readonly opts: LocalRunnerOptions) {
    this.git = new GitCli(opts.repoDir);
    this.jobsDir = join(opts.dataDir, 'jobs');
    mkdirSync(join(this.jobsDir, 'work'), { recursive: true, mode: 0o700 });
    mkdirSync(join(this.jobsDir, 'logs'), { recursive: true, mode: 0o700 });
  }

  /** Queues a job; it starts when fewer than `concurrency` jobs run. */
  submit(spec: LocalJobSpec): void {
    if (this.closed) throw new LocalRunnerError('pipeline-runner-closed', 'the local runner is shutting down');
    if (!JOB_ID.test(spec.id)) throw new LocalRunnerError('pipeline-bad-job-id', `job id ${JSON.stringify(spec.id)}: letters, digits, ".", "_" and "-" only`, { id: spec.id });
    if (this.jobs.has(spec.id)) throw new LocalRunnerError('pipeline-job-exists', `job ${spec.id} was already submitted`, { id: spec.id });
    let resolve!: (r: LocalJobResult) => void;
    const done = new Promise<LocalJobResult>((r) => (resolve = r));
    const entry: Entry = { spec, status: 'queued', startedAt: null, done, resolve };
    this.jobs.set(spec.id, entry);
    this.queue.push(entry);
    this.pump();
  }

  /** queued, checkout, running or finished; undefined for a job this runner never saw. */
  status(id: string): Entry['status'] | undefined {
    return this.jobs.get(id)?.status;
  }

  /** Resolves when the job has ended and its checkout is gone. */
  result(id: string): Promise<LocalJobResult> {
    const e = this.jobs.get(id);
    if (!e) return Promise.reject(new LocalRunnerError('pipeline-unknown-job', `no job ${id} on this runner`, { id }));
    return e.done;
  }

  /** The log's path relative to the data dir (what a Job records). */
  logPath(id: string): string {
    return relative(this.opts.dataDir, this.absLog(id));
  }

  private absLog(id: string): string {
    return join(this.jobsDir, 'logs', `${id}.log`);
  }

  /** Stops a job: a queued one never starts, a running one's group gets SIGTERM, then SIGKILL. False when it had already ended. */
  cancel(id: string, reason = 'cancelled'): boolean {
    const e = this.jobs.get(id);
    if (!e) throw new LocalRunnerError('pipeline-unknown-job', `no job ${id} on this runner`, { id });
    if (e.status === 'finished' || e.cancel) return false;
    e.cancel = reason;
    if (e.status === 'queued') {
      this.queue.splice(this.queue.indexOf(e), 1);
      this.finish(e, { state: 'cancelled', reason });
      e.resolve(e.result!);
    } else if (e.pgid !== undefined) void endGroup(e.pgid, this.opts.killGraceMs);
    return true;
  }

  /**
   * The job's output so far, then live as it comes, until it ends: for `job log ID --follow`. For a
   * job that ended (or one from before a restart) the log file as kept.
   */
  async *follow(id: string): AsyncGenerator<Buffer> {
    const e = this.jobs.get(id);
    if (e?.log && !e.log.done) {
      yield* e.log.follow();
      return;
    }
    if (e && e.status !== 'finished') {
      // Queued or making its checkout: the log starts with the process.
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (e.log || e.status === 'finished') {
            clearInterval(t);
            resolve();
          }
        }, 10);
      });
      yield* this.follow(id);
      return;
    }
    const { readFile } = await import('node:fs/promises');
    try {
      yield await readFile(this.absLog(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new LocalRunnerError('pipeline-unknown-job', `no log for job ${id}`, { id });
      throw err;
    }
  }

  /** Ends every job (server shutdown): they finish as `interrupted`, to be run again by the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.queue.splice(0)) {
      this.finish(e, { state: 'interrupted', reason: 'the server stopped before the job started' });
      e.resolve(e.result!);
    }
    const live = [...this.jobs.values()].filter((e) => e.status !== 'finished');
    for (const e of live) {
      e.shutdown = true;
      if (e.pgid !== undefined) void endGroup(e.pgid, this.opts.killGraceMs);
    }
    await Promise.all(live.map((e) => e.done));
  }

  /** Removes work dirs a crashed server left (none of this runner's jobs): call once at start, before submitting. */
  async sweepWork(): Promise<string[]> {
    const dir = join(this.jobsDir, 'work');
    const left = (await readdir(dir)).filter((n) => !this.jobs.has(n));
    await Promise.all(left.map((n) => rm(join(dir, n), { recursive: true, force: true })));
    return left;
  }

  /** Removes logs of jobs not on this runner now, last written more than `retentionDays` ago. Returns the ids removed. */
  async pruneLogs(now: number = Date.now()): Promise<string[]> {
    const dir = join(this.jobsDir, 'logs');
    const cutoff = now - this.opts.log.retentionDays * 86_400_000;
    const removed: string[] = [];
    for (const name of await readdir(dir)) {
      const id = name.replace(/\.log$/, '');
      const e = this.jobs.get(id);
      if (e && e.status !== 'finished') continue;
      const s = await stat(join(dir, name)).catch(() => null);
      if (s && s.mtimeMs < cutoff) {
        await unlink(join(dir, name)).catch(() => undefined);
        removed.push(id);
      }
    }
    return removed;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.queue.length) {
      const e = this.queue.shift()!;
      this.running++;
      void this.run(e).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(e: Entry): Promise<void> {
    const { spec } = e;
    const work = join(this.jobsDir, 'work', spec.id);
    const src = join(work, 'src'), home = join(work, 'home'), tmp = join(work, 'tmp');
    e.status = 'checkout';
    try {
      let argv: string[];
      try {
        argv = expandArgs(spec.run, { sha: spec.sha, push: spec.push, branch: spec.branch, env: spec.env });
      } catch (err) {
        if (err instanceof PlaceholderError) return this.finish(e, { state: 'failed', reason: err.message, notRun: true });
        throw err;
      }
      for (const d of [src, home, tmp]) mkdirSync(d, { recursive: true, mode: 0o700 });
      try {
        await this.checkout(spec.sha, src, join(work, 'index'));
      } catch (err) {
        const why = err instanceof GitError ? err.stderr.trim().split('\n').pop() : (err as Error).message;
        return this.finish(e, { state: 'failed', reason: `no checkout of ${spec.sha}: ${why}`, notRun: true });
      }
      if (e.cancel) return this.finish(e, { state: 'cancelled', reason: e.cancel });
      if (e.shutdown) return this.finish(e, { state: 'interrupted', reason: 'the server stopped before the job started' });
      await this.spawnJob(e, argv, { src, home, tmp });
    } finally {
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
      if (e.result) e.resolve(e.result);
    }
  }

  /** The tree of `sha`, exactly (no .gitattributes export rules), through an index of its own: the managed repository is only read. */
  private async checkout(sha: string, dir: string, index: string): Promise<void> {
    const env = { GIT_INDEX_FILE: index };
    await this.git.run(['--work-tree', dir, 'read-tree', `${sha}^{tree}`], { env });
    await this.git.run(['--work-tree', dir, 'checkout-index', '--all', '--force'], { env });
  }

  private spawnJob(e: Entry, argv: string[], dirs: { src: string; home: string; tmp: string }): Promise<void> {
    const { spec } = e;
    // A job run again after the server stopped writes the same log: keep the last lines of the cut run first.
    const end = readLogEnd(this.absLog(spec.id), 4096);
    const before = end ? end.text.split('\n').slice(end.cut ? 1 : 0).filter((l, i, all) => l !== '' || i < all.length - 1).slice(-20).join('\n').trimEnd() : '';
    const log = new JobLog(this.absLog(spec.id), this.opts.log);
    if (before) log.append(`[pushmanager] an earlier run of job ${spec.id} was cut short (the server stopped); its last lines:\n${before.replace(/^/gm, '  | ')}\n[pushmanager] run again from scratch:\n`);
    const env = jobEnvironment(spec, dirs, this.opts.serverEnv ?? process.env, this.opts.passEnv);
    return new Promise<void>((resolve) => {
      // detached: the job leads a process group of its own, so one signal reaches it and its children.
      const child = spawn(argv[0]!, argv.slice(1), { cwd: dirs.src, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      e.child = child;
      e.log = log;
      log.append(`[pushmanager] job ${spec.id} (${spec.name}) at ${spec.sha}: ${JSON.stringify(argv)}\n`);
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let spawnError: Error | null = null;
      let groupEnded: Promise<unknown> = Promise.resolve();
      const timer = setTimeout(() => {
        e.timedOut = true;
        if (e.pgid !== undefined) void endGroup(e.pgid, this.opts.killGraceMs);
      }, spec.timeoutSec * 1000);
      child.stdout!.on('data', (d: Buffer) => log.append(d));
      child.stderr!.on('data', (d: Buffer) => log.append(d));
      child.once('error', (err) => (spawnError = err));
      if (child.pid !== undefined) {
        e.pgid = child.pid;
        e.status = 'running';
        e.startedAt = new Date();
        const st = procStat(child.pid);
        this.opts.onUpdate?.({ type: 'started', id: spec.id, at: e.startedAt, pgid: child.pid, startTicks: st?.startTicks ?? 0, bootId: bootId(), log: this.logPath(spec.id) });
      }
      child.once('exit', (code, signal) => {
        exit = { code, signal };
        // The leader is gone; children it left in the group (daemons, a stuck sleep) are ended too.
        if (e.pgid !== undefined) groupEnded = endGroup(e.pgid, this.opts.killGraceMs);
      });
      child.once('close', () => {
        clearTimeout(timer);
        void groupEnded.then(() => {
          const err = spawnError as (Error & { code?: string }) | null;
          const why = err && !exit ? `cannot start ${argv[0]}: ${startError(err, argv[0]!)}` : null;
          // The log says it too: `job log` of a job that never started is otherwise its header alone.
          if (why) log.append(`[pushmanager] ${why}\n`);
          log.close();
          if (why) this.finish(e, { state: 'failed', reason: why, notRun: true });
          else this.finish(e, this.outcome(e, exit!));
          resolve();
        });
      });
    });
  }

  private outcome(e: Entry, exit: { code: number | null; signal: NodeJS.Signals | null }): Omit<LocalJobResult, 'id' | 'log' | 'startedAt' | 'finishedAt'> {
    const codes = { ...(exit.code !== null && { exitCode: exit.code }), ...(exit.signal && { signal: exit.signal }) };
    if (e.cancel) return { state: 'cancelled', reason: e.cancel, ...codes };
    if (e.shutdown) return { state: 'interrupted', reason: 'the server stopped while the job ran', ...codes };
    if (e.timedOut) return { state: 'failed', reason: `timed out after ${e.spec.timeoutSec} s`, ...codes };
    if (exit.code === 0) return { state: 'passed', reason: 'exit code 0', ...codes };
    return { state: 'failed', reason: exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`, ...codes };
  }

  private finish(e: Entry, r: Omit<LocalJobResult, 'id' | 'log' | 'startedAt' | 'finishedAt'>): void {
    if (e.status === 'finished') return;
    e.status = 'finished';
    e.result = { id: e.spec.id, log: this.logPath(e.spec.id), startedAt: e.startedAt, finishedAt: new Date(), ...r };
    this.opts.onUpdate?.({ type: 'finished', ...e.result });
  }
}
