// The composition root: config → adapters → app → listen. Everything else receives what it needs.
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { chmod, mkdir, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { systemActor, userActor, type UserActor } from '../state/decide.js';
import { refChanged } from './git/git-repo.js';
import type { MoveMaster } from './integrations/upstream.js';
import { DispatchError } from './app/dispatch-error.js';
import { createAuth, type AuthServices } from './auth/create-auth.js';
import { loadConfig, type Config } from './config/config.js';
import { systemClock, type Clock } from './app/clock.js';
import { Dispatcher } from './app/dispatcher.js';
import { EventBus } from './app/event-bus.js';
import { BisectService } from './train/bisect-service.js';
import { Train, conflictLines, type EarlyCheck } from './train/train-service.js';
import { isDomainError } from '../state/errors.js';
import { startNotifications, type Notifications } from './app/notifications.js';
import { startIntegrationEffects } from './app/integration-effects.js';
import { watchRef } from './app/metadata-watcher.js';
import { createIntegrations, type Integrations } from './integrations/integrations-config.js';
import { Metrics } from './http/metrics.js';
import { accountRoutes } from './http/account-routes.js';
import { boardLinks } from './app/board-links.js';
import { watchConfig, type ConfigReloader } from './app/config-reload.js';
import { reconcilePushreqRefs, type ReconcileReport } from './app/reconcile.js';
import { ensureRepository, metadataRef, packageRoot, type ManagedRepo } from './repo/managed-repo.js';
import { RepoMaintenance } from './repo/maintenance.js';
import { GitStateStore } from './store/git-state-store.js';
import { createServer, type ServerDeps } from './http/server.js';
import { InFlight } from './http/in-flight.js';
import { DataDirError, ListenError } from './startup-error.js';
import { hookSocketPath, listenHookSocket } from './http/hook-socket.js';
import { objectKindVia } from '../hooks/receive-handler.js';
import { gitSpawnerSocketPath, startGitSpawner } from './git/git-spawner.js';
import { PushTokens } from './auth/push-tokens.js';
import { createPipeline } from './pipeline/create-pipeline.js';
import type { PipelineService } from './pipeline/pipeline-service.js';

/**
 * The data dir holds the notification outbox and log (people's addresses and what they were told), token
 * hashes and job logs: only the server's user reads it. A dir made by an older version (0755 under a
 * default umask) is closed once, and the log says so; one owned by another user is left as it is.
 */
async function keepPrivate(dir: string, log: (level: 'info' | 'warn' | 'error', msg: string) => void): Promise<void> {
  const st = await stat(dir);
  if ((st.mode & 0o077) === 0 || st.uid !== process.getuid?.()) return;
  await chmod(dir, st.mode & 0o700);
  log('warn', `the data directory ${dir} was open to other users (${(st.mode & 0o777).toString(8)}); it is ${(st.mode & 0o700).toString(8)} now (it holds addresses, token hashes and job logs)`);
}

/** How long a stopping server waits for the pushes and commands under way (systemd's stop timeout is 90 s). */
const SHUTDOWN_GRACE_MS = 8_000;

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string) => void;

export const stderrLog: LogFn = (level, msg) => process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${msg}\n`);

export interface StartOptions {
  readonly configPath?: string;
  /** Overrides applied after loading (CLI flags, tests). */
  readonly port?: number;
  readonly host?: string;
  readonly dataDir?: string;
  readonly config?: Config;
  readonly log?: LogFn;
  readonly clock?: Clock;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly repo: ManagedRepo;
  readonly dispatcher: Dispatcher;
  readonly store: GitStateStore;
  readonly bus: EventBus;
  readonly auth: AuthServices;
  readonly train: Train;
  readonly notifications: Notifications;
  readonly integrations: Integrations;
  readonly metrics: Metrics;
  readonly maintenance: RepoMaintenance;
  readonly reloader: ConfigReloader | null;
  readonly reconciled: ReconcileReport;
  /** The pipeline's job service (the configured runner's); null when no jobs are configured. */
  readonly jobs: PipelineService | null;
  close(): Promise<void>;
}

export async function defaultConfigPath(): Promise<string> {
  return join(await packageRoot(), 'pushmanager.config.yaml');
}

/** Why the server cannot listen on host:port, said so that the next step is clear. Code `port-in-use` or `listen-failed`. */
export function describeListenError(e: unknown, host: string, port: number): ListenError {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const fail = (message: string, ours: ListenError['code'] = 'listen-failed') => new ListenError(ours, message, { host, port, errno: code || null }, { cause: e });
  switch (code) {
    case 'EADDRINUSE':
      return fail(`port ${port} is already in use on ${host} (another pushmanager? choose one with --port)`, 'port-in-use');
    case 'EACCES':
      return fail(`port ${port} on ${host} needs privileges this user does not have (EACCES): choose a port above 1023 with --port, or let a proxy or systemd socket hand it over`);
    case 'EADDRNOTAVAIL':
      return fail(`address ${host} is not an address of this machine (EADDRNOTAVAIL): choose another with --host`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`cannot listen on ${host}: no such host name (${code}); choose another with --host`);
    default:
      return fail(`cannot listen on ${host} port ${port}: ${(e as Error).message}${code ? ` (${code})` : ''}`);
  }
}

/**
 * Binds host:port and lets go again, so a taken port stops the start before the data directory,
 * the repository or any background work exists. Another process may still take the port in the
 * moment between; then the real listen fails the same way and start() undoes what it started.
 */
async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return; // the kernel picks a free one
  const probe = createNetServer();
  try {
    await new Promise<void>((ok, fail) => {
      probe.once('error', fail);
      probe.listen({ port, host, exclusive: true }, ok);
    });
  } catch (e) {
    throw describeListenError(e, host, port);
  }
  await new Promise((r) => probe.close(r));
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  try {
    return await start(opts);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const dir = resolve(opts.dataDir ?? opts.config?.server.dataDir ?? './data');
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
      throw new DataDirError('data-dir-not-writable', `the data directory ${dir} is read-only or not writable (${code}): pushmanager keeps its repository and outbox there; make it writable or choose another with --data`, { dir, errno: code }, { cause: e });
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new DataDirError('data-dir-full', `the disk holding ${dir} is full (${code}); free space and start again`, { dir, errno: code }, { cause: e });
    throw e;
  }
}

async function start(opts: StartOptions): Promise<RunningServer> {
  const log = opts.log ?? stderrLog;
  const loaded = opts.config ?? (await loadConfig(opts.configPath ?? (await defaultConfigPath())));
  const config: Config = {
    ...loaded,
    server: { ...loaded.server, ...(opts.port !== undefined && { port: opts.port }), ...(opts.host && { host: opts.host }), ...(opts.dataDir && { dataDir: opts.dataDir }) },
  };
  const dataDir = resolve(config.server.dataDir);
  // Everything that can refuse the start without touching the disk comes first: an unsafe auth setup,
  // a port already taken (a second `npm start`) must leave no data directory behind.
  const auth = createAuth(config.auth, { dataDir, host: config.server.host, log });
  const directoryWarning = await auth.checkDirectory(); // a wrong LDAP bindDn, base or group refuses the start
  if (directoryWarning) log('warn', directoryWarning);
  await checkPortFree(config.server.host, config.server.port);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await keepPrivate(dataDir, log);
  const repo = await ensureRepository(dataDir, config.repository, { log });
  if (repo.staleLocks.length) log('warn', `removed lock files a crash left behind: ${repo.staleLocks.join(', ')}`);
  const store = new GitStateStore(repo.git, repo.gitDir, metadataRef(config.repository));
  await store.read(); // fail now, clearly, on an unreadable or newer metadata branch
  const bus = new EventBus();
  const clock = opts.clock ?? systemClock;
  const metrics = new Metrics();
  const integrations = await createIntegrations(config.integrations, { dataDir, git: repo.git });
  const masterRef = `refs/heads/${config.repository.master}`;
  // The one write path; the train is the git work around it, handed to each door's call (prepare →
  // decide → commit), so neither needs the other bound late.
  const pipelineRuns = config.pipeline.jobs.length > 0;
  const dispatcher = new Dispatcher(store, clock, null, {
    singleAcceptingPush: config.repository.singleAcceptingPush,
    knowsUser: async (name) => (await auth.authenticator.currentDirectory.lookup(name)) !== null,
    tags: integrations.tagsConfig,
    ...(pipelineRuns && { pipeline: { runner: config.pipeline.runner, jobs: config.pipeline.jobs.map((j) => ({ name: j.name, on: j.on })), retries: config.pipeline.retries, onFailure: config.pipeline.onFailure, autoRemove: config.pipeline.autoRemove } }),
  });
  const jobs = await createPipeline({ dispatcher, pipeline: config.pipeline, repoDir: repo.gitDir, dataDir, log });
  const upstream = integrations.upstream;
  // master follows upstream with a state commit that says so (system, cause upstream: the audit trail
  // shows when and from what to what), the ref moved in the same transaction as the state.
  const recordFollow: MoveMaster = async (m) => {
    try {
      const out = await dispatcher.execute({ type: 'FollowUpstream', ref: m.ref, from: m.from, to: m.to }, systemActor('upstream'), { facts: { refs: [{ ref: m.ref, newSha: m.to, oldSha: m.from }] } });
      if (isDomainError(out)) throw new DispatchError('follow-upstream-refused', `following upstream was refused: ${out.message}`, { code: out.code });
      return { ok: true };
    } catch (e) {
      // Every attempt lost the compare-and-swap on master (a certification moved it): kept, as the port's answer says.
      if (e instanceof DispatchError && e.code === 'commit-retries-exhausted') return refChanged(m.ref, m.from, await repo.repo.readRef(m.ref));
      throw e;
    }
  };
  const train = new Train({
    onTimings: (kind, ms) => (kind === 'rebuild' ? metrics.observeRebuild(ms) : metrics.observeConflictCheck(ms)),
    reviewUrl: integrations.reviewboard ? (id) => integrations.reviewboard!.reviewUrl(id) : undefined,
    // With an upstream, master follows it: fetched before each build or check, pushed at certification.
    refreshMaster: upstream
      ? async () => {
          // A compare-and-swap from the master seen before the fetch: one moved meanwhile (a certification) stays.
          const r = await upstream.followMaster(repo.git, repo.repo, config.repository.master, recordFollow);
          if (!r.ok) log('warn', `upstream: ${r.detail}; master left as it is, the next build fetches again`);
        }
      : undefined,
    deployBuildFailing:
      integrations.buildbot && integrations.blockBlessOnBuildFailure
        ? async (sha) => {
            const s = await integrations.buildbot!.status(sha);
            return s.state === 'fail' ? `failed builders: ${s.failedBuilders.join(', ')}; ${s.link}` : null;
          }
        : undefined,
    publishCertified: upstream
      ? async (p) => {
          const r = await upstream.pushCertified(repo.git, repo.repo, { master: { sha: p.masterSha, expectedOld: p.expectedOld, branch: config.repository.master }, tag: p.tag });
          return r.ok ? null : `${r.code}: ${r.message}`;
        }
      : undefined,
    repo: repo.repo,
    dispatcher,
    bus,
    masterRef,
    tagTemplate: config.repository.tagTemplate,
    now: () => clock.now(),
    log,
  });
  const theTrain = train;
  // A red build's culprit search: its candidates are built here, their jobs run by the pipeline's runner.
  const bisect = pipelineRuns && config.pipeline.onFailure === 'bisect'
    ? new BisectService({ dispatcher, builder: train.builder, runner: config.pipeline.runner, parallel: config.pipeline.bisectParallel, log })
    : null;
  // With an upstream, master starts as upstream's, so requests branch from the company's real master.
  if (upstream) await theTrain.masterSha().catch((e: unknown) => log('error', `upstream: cannot fetch master at start-up: ${(e as Error).message}; builds retry it`));
  const notifications: Notifications = await startNotifications(config.notifications, { dataDir, store, bus, log });
  const effects = await startIntegrationEffects(integrations, { dataDir, store, bus, log });
  dispatcher.onCommit((c) => {
    bus.publish({ kind: 'commit', version: c.version, command: c.command.type, actor: c.actor, events: c.events.map((e) => e.type) });
    metrics.observeStateWrite(dispatcher.stats.lastWriteMs);
    metrics.setBoard(c.board);
    notifications.onCommit(c);
    effects.onCommit(c);
    theTrain.afterCommit(c);
    jobs?.afterCommit(c);
    bisect?.afterCommit(c);
  });
  dispatcher.onHeld = (type, ms) => metrics.observeWriterHeld(type, ms);
  metrics.registry.onCollect(() => {
    metrics.setQueueDepth(dispatcher.pending);
    metrics.setOutbox(notifications.outbox.list());
  });
  metrics.setBoard((await store.read()).board);
  const timed = async <T>(type: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await f();
    metrics.observeCommand(type, isDomainError(r) ? r.code : 'ok', performance.now() - t);
    return r;
  };

  const lookupUser = async (name: string): Promise<UserActor | null> => {
    const u = await auth.authenticator.currentDirectory.lookup(name);
    return u ? userActor(u.name, u) : null;
  };
  const refs = { master: config.repository.master, metadata: config.repository.metadataBranch, deployPrefix: config.repository.deployBranchPrefix };
  const inFlight = new InFlight();
  const deps: ServerDeps = {
    config,
    repo,
    authenticator: auth.authenticator,
    hookSocket: hookSocketPath(dataDir),
    pushTokens: new PushTokens(),
    inFlight,
    dispatcher,
    store,
    bus,
    maxBodyBytes: config.server.maxBodyBytes,
    singleAcceptingPush: config.repository.singleAcceptingPush,
    execute: (cmd, actor) => timed(cmd.type, () => theTrain.execute(cmd, actor)),
    log,
    metrics,
    decorateBoard: integrations.reviewboard || integrations.buildbot || integrations.tickets ? boardLinks(integrations) : undefined,
    ...(jobs && {
      jobs: {
        follow: (job) => jobs.follow(job),
        command: (job) => {
          const cfg = config.pipeline.jobs.find((j) => j.name === job.name && j.on === job.on);
          return { command: cfg?.run ?? null, builder: cfg?.builder ?? null };
        },
      },
    }),
    extraRoutes: accountRoutes({ tokens: auth.tokens, tokenTtlMs: auth.tokenTtlMs, outbox: notifications.outbox }),
    receive: {
      record: async (pushed, actor, onDecided) => {
        const t = performance.now();
        const out = await dispatcher.recordPush(pushed, actor, { lane: 'push', preparer: theTrain, onDecided });
        // As before: a push's command counted by its type (an atomic push as one), a ref refused before deciding not at all.
        const type = pushed.length > 1 ? 'AtomicPush' : out.ok ? out.resolved[0]!.command.type : out.command?.type;
        if (type && (out.ok || out.error)) metrics.observeCommand(type, out.ok ? 'ok' : out.error!.code, performance.now() - t);
        return out;
      },
      lookupUser,
      refs,
      onRecorded: (ms) => metrics.observePushToRecorded(ms),
      objectKind: (sha) => objectKindVia((name) => repo.repo.readObject(name), sha),
      beforeRecord: (sha, ref, board) => theTrain.checkEarly(sha, ref, board),
      afterRecorded: async (r, board, early) => conflictLines(await theTrain.checkRequestNow(r.id, board, early as Promise<EarlyCheck | null> | undefined), board),
    },
  };

  const hookServer = await listenHookSocket(deps.hookSocket, { tokens: deps.pushTokens, receive: deps.receive, log, metrics });
  // Git's processes start there, not by forking this process (without perl: forked here, as before).
  const gitSpawner = await startGitSpawner(gitSpawnerSocketPath(dataDir), { log }).catch((e: unknown) => {
    log('warn', `git requests fork from the server: ${(e as Error).message}`);
    return null;
  });

  // Refs and state may have drifted while we were down; fix before taking pushes.
  // An adopted ref's owner is a guess: its commit's author, as the directory spells the name.
  const reconciled = await reconcilePushreqRefs(repo.git, dispatcher, async (_ref, sha) => {
    const author = (await repo.git.out(['log', '-1', '--format=%an', sha]).catch(() => '')).trim();
    return (await lookupUser(author))?.name ?? (author || 'unknown');
  });
  for (const [what, list] of Object.entries(reconciled)) if (list.length) log('warn', `reconcile: ${what} ${list.join(', ')}`);
  // Work a killed run left undone: stale deploy branches rebuild, conflicts are checked again.
  await theTrain.resume();
  // Jobs a killed run left running are interrupted (their orphaned process groups killed) and run again.
  await jobs?.resume();
  // A culprit search a killed run left half done goes on.
  await bisect?.resume();

  // Packs what pushes and commits leave loose, in the background (see server/repo/maintenance.ts).
  const maintenance = new RepoMaintenance({
    git: repo.git,
    log,
    onRun: (run) => {
      metrics.observeMaintenance(run.ok, run.ms);
      // Trial merges name unreachable objects the run may have pruned.
      theTrain.checker.forget();
    },
  });
  maintenance.start();
  metrics.registry.onCollect(() => metrics.setRepoObjects(maintenance.counts()));

  // Commits made outside this process (an operator's repair, a mirror's fetch) reach the dashboards too.
  const metaRef = metadataRef(config.repository);
  const watcher = watchRef(repo.gitDir, metaRef, (sha) => {
    // This process's own commit (published on the bus right after it): nothing to reload.
    if (sha && sha === lastPublished) return;
    void (async () => {
      const known = (await store.read()).version; // refreshes the cache when the ref moved
      if (sha && sha === known && sha !== lastPublished) bus.publish({ kind: 'commit', version: sha, command: 'external', actor: 'git', events: [], external: true });
    })().catch((e: unknown) => log('warn', `reading the metadata branch after an outside change failed: ${(e as Error).message}`));
  });
  let lastPublished: string | null = null;
  bus.subscribe((m) => {
    if (m.kind === 'commit') lastPublished = m.version;
  });

  const configPath = opts.config ? null : (opts.configPath ?? (await defaultConfigPath()));
  const reloader = configPath ? watchConfig(configPath, config, { authenticator: auth.authenticator, setRouting: (c) => notifications.setRouting(c), bus, log }) : null;

  const server: Server = createServer({ ...deps, gitSpawner });
  const stopBackground = async () => {
    // First: running jobs end as interrupted, recorded while the store is still open.
    await bisect?.close();
    await jobs?.close();
    await maintenance.close();
    await watcher.close();
    await reloader?.close();
    await theTrain.close();
    await notifications.close();
    await effects.close();
    await integrations.close();
  };
  server.listen(config.server.port, config.server.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))]);
  } catch (e) {
    // Lost the port after checkPortFree: stop what runs, or its timers and watchers keep the process alive.
    await stopBackground().catch(() => undefined);
    await hookServer.close();
    await gitSpawner?.close();
    store.close();
    await repo.repo.close();
    await auth.close();
    throw describeListenError(e, config.server.host, config.server.port);
  }
  const port = (server.address() as AddressInfo).port;
  const scheme = config.server.tls ? 'https' : 'http';
  const url = config.server.publicUrl ?? `${scheme}://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`;
  // External jobs are announced with where to report back: only now is that known.
  await jobs?.started?.(url).catch((e: unknown) => log('error', `pipeline: announcing waiting jobs failed: ${(e as Error).message}`));

  return {
    url,
    port,
    config,
    repo,
    dispatcher,
    store,
    bus,
    auth,
    train: theTrain,
    jobs,
    reconciled,
    notifications,
    integrations,
    metrics,
    maintenance,
    reloader,
    async close() {
      // New connections are refused at once; the writes under way (a push, a command) finish first, with
      // everything they need still running, so a restart does not cut a push in two. Bounded: a stuck
      // client does not hold the stop for ever.
      const closed = new Promise((r) => server.close(r));
      server.closeIdleConnections?.();
      const left = await inFlight.drained(SHUTDOWN_GRACE_MS);
      if (left) log('warn', `stopping: ${left} request(s) still under way after ${SHUTDOWN_GRACE_MS / 1000} s are cut short (a push cut short records nothing; its git says so)`);
      await stopBackground();
      server.closeAllConnections?.();
      await Promise.all([closed, hookServer.close()]);
      await gitSpawner?.close();
      store.close();
      await repo.repo.close();
      await auth.close();
    },
  };
}
