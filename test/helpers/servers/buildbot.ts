// Test helper: a real Buildbot 3.7 master and worker (Debian's `buildbot` + `buildbot-worker`) on
// free loopback ports. Debian does not package the web UI, and the master's REST API (`/api/v2`) is
// served by its web service, which refuses to start without a UI plugin registered as `base`; this
// helper writes an empty one onto PYTHONPATH (STACK.md, "Buildbot 3.7"). The master serves:
// - builders `pass` (prints known lines and the forced properties), `lint` (passes), `fail` (prints
//   a known line, exits 3) and `slow` (sleeps a minute: a build that is still running);
// - a ForceScheduler `force` on all of them, declaring the properties `pushmanager_push` and
//   `pushmanager_job` (Buildbot drops forced properties a scheduler does not declare);
// - the `base` change hook (`POST /change_hook/base`) and one AnyBranchScheduler per branch below, so
//   a test can make a *change* with a revision and have builds attached to it, as a real VCS poller
//   would: branch `green` → pass + lint, `red` → pass + fail, `slow` → pass + slow.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary, freePort, stopProcess, waitFor } from './server-process.js';

export const findBuildbot = () => {
  const master = findBinary(['/usr/bin/buildbot', '/usr/local/bin/buildbot'], 'buildbot', 'apt-get install -y buildbot buildbot-worker');
  if (!master.ok) return master;
  const worker = findBinary(['/usr/bin/buildbot-worker', '/usr/local/bin/buildbot-worker'], 'buildbot-worker', 'apt-get install -y buildbot buildbot-worker');
  if (!worker.ok) return worker;
  return { ok: true as const, master: master.path, worker: worker.path };
};

export interface BuildbotServer {
  /** Base URL of the master's web service, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly dir: string;
  /** Records a change (as a VCS poller would) through the base change hook. */
  addChange(change: { revision: string; branch: string; comments?: string }): Promise<void>;
  /** The master's and worker's output so far (for a failing test's message). */
  output(): string;
  dispose(): Promise<void>;
}

const MASTER_CFG = (wwwPort: number, pbPort: number) => `# Written by test/helpers/servers/buildbot.ts
from buildbot.plugins import util, steps, schedulers, worker
c = BuildmasterConfig = {}
c['buildbotNetUsageData'] = None
c['title'] = 'pushmanager test'
c['titleURL'] = 'http://127.0.0.1:${wwwPort}/'
c['buildbotURL'] = 'http://127.0.0.1:${wwwPort}/'
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['workers'] = [worker.Worker('w1', 'pass', max_builds=8)]
c['protocols'] = {'pb': {'port': 'tcp:${pbPort}:interface=127.0.0.1'}}
c['www'] = dict(port='tcp:${wwwPort}:interface=127.0.0.1', plugins={}, change_hook_dialects={'base': True})

def shell(name, argv):
    return steps.ShellCommand(name=name, command=argv)

def factory(*s):
    f = util.BuildFactory()
    for step in s:
        f.addStep(step)
    return f

props = util.Interpolate('push=%(prop:pushmanager_push)s job=%(prop:pushmanager_job)s revision=%(prop:revision)s branch=%(prop:branch)s')
c['builders'] = [
    util.BuilderConfig(name='pass', workernames=['w1'], factory=factory(
        shell('hello', ['sh', '-c', 'echo pushmanager-pass-line-1; echo pushmanager-pass-line-2']),
        steps.ShellCommand(name='props', command=['echo', props]))),
    util.BuilderConfig(name='lint', workernames=['w1'], factory=factory(shell('lint', ['true']))),
    util.BuilderConfig(name='fail', workernames=['w1'], factory=factory(shell('boom', ['sh', '-c', 'echo pushmanager-fail-line; exit 3']))),
    util.BuilderConfig(name='slow', workernames=['w1'], factory=factory(shell('sleep', ['sh', '-c', 'echo pushmanager-slow-start; sleep 60']))),
]
c['schedulers'] = [
    schedulers.ForceScheduler(name='force', builderNames=['pass', 'lint', 'fail', 'slow'],
        properties=[util.StringParameter(name='pushmanager_push', default=''), util.StringParameter(name='pushmanager_job', default='')]),
    schedulers.AnyBranchScheduler(name='green', change_filter=util.ChangeFilter(branch='green'), treeStableTimer=None, builderNames=['pass', 'lint']),
    schedulers.AnyBranchScheduler(name='red', change_filter=util.ChangeFilter(branch='red'), treeStableTimer=None, builderNames=['pass', 'fail']),
    schedulers.AnyBranchScheduler(name='slow', change_filter=util.ChangeFilter(branch='slow'), treeStableTimer=None, builderNames=['pass', 'slow']),
]
`;

/** The empty UI plugin the web service needs before it serves /api/v2 (see the file comment). */
async function writeEmptyUi(pyDir: string): Promise<void> {
  const pkg = join(pyDir, 'pm_empty_ui');
  await mkdir(join(pkg, 'static'), { recursive: true });
  await writeFile(join(pkg, '__init__.py'), 'from buildbot.www.plugin import Application\nep = Application(__name__, "empty UI", ui=True)\n');
  await writeFile(join(pkg, 'VERSION'), '0.0.0\n');
  await writeFile(join(pkg, 'static', 'index.html'), '<!doctype html><title>pushmanager test</title>\n');
  const info = join(pyDir, 'pm_empty_ui-0.0.0.dist-info');
  await mkdir(info, { recursive: true });
  await writeFile(join(info, 'METADATA'), 'Metadata-Version: 2.1\nName: pm-empty-ui\nVersion: 0.0.0\n');
  await writeFile(join(info, 'RECORD'), '');
  await writeFile(join(info, 'entry_points.txt'), '[buildbot.www]\nbase = pm_empty_ui:ep\n');
}

/** Starts a master and a worker (each `--nodaemon`, a child of this process) and waits until the worker is attached. */
export async function startBuildbot(): Promise<BuildbotServer> {
  const bin = findBuildbot();
  if (!bin.ok) throw new Error(bin.reason);
  const dir = await mkdtemp(join(tmpdir(), 'pm-buildbot-'));
  const masterDir = join(dir, 'master'), workerDir = join(dir, 'worker'), pyDir = join(dir, 'py');
  await writeEmptyUi(pyDir);
  const env = { ...process.env, PYTHONPATH: pyDir, PYTHONDONTWRITEBYTECODE: '1' };
  const wwwPort = await freePort();
  const pbPort = await freePort();
  const url = `http://127.0.0.1:${wwwPort}`;
  let master: Logged | null = null, worker: Logged | null = null;
  const dispose = async () => {
    if (worker) await stopProcess(worker.child);
    if (master) await stopProcess(master.child);
    worker = master = null;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await runOnce(bin.master, ['create-master', '-q', '--db', 'sqlite:///state.sqlite', masterDir], env);
    await writeFile(join(masterDir, 'master.cfg'), MASTER_CFG(wwwPort, pbPort));
    await runOnce(bin.worker, ['create-worker', '-q', workerDir, `127.0.0.1:${pbPort}`, 'w1', 'pass'], env);
    // `buildbot start --nodaemon` runs twistd with --logfile=twistd.log: readiness is read there.
    master = await startLogged(bin.master, masterDir, /BuildMaster is running/, env);
    worker = await startLogged(bin.worker, workerDir, /Connected to 127\.0\.0\.1:\d+; worker is ready|worker is ready/, env);
    // The worker says it connected before the master has attached it to its builders: wait for that.
    await waitForWorker(url);
  } catch (e) {
    const out = `${master?.output() ?? ''}\n${worker?.output() ?? ''}`.trim().slice(-2000);
    await dispose();
    throw new Error(`${(e as Error).message}${out ? `\n${out}` : ''}`);
  }
  return {
    url,
    dir,
    output: () => `${master?.output() ?? ''}\n${worker?.output() ?? ''}`,
    addChange: async ({ revision, branch, comments }) => {
      const body = new URLSearchParams({ revision, branch, comments: comments ?? `change ${revision}`, author: 'Fixture Bot <fixture@example.test>', repository: 'pushmanager-test', project: 'pushmanager' });
      const r = await fetch(`${url}/change_hook/base`, { method: 'POST', body });
      if (!r.ok) throw new Error(`change hook answered ${r.status}: ${await r.text()}`);
    },
    dispose,
  };
}

interface Logged {
  readonly child: ChildProcess;
  output(): string;
}

/** Spawns `CMD start --nodaemon DIR` and resolves when DIR/twistd.log matches `ready`; rejects if it exits first. */
async function startLogged(cmd: string, dir: string, ready: RegExp, env: NodeJS.ProcessEnv): Promise<Logged> {
  const child = spawn(cmd, ['start', '--nodaemon', dir], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const log = () => {
    try {
      return readFileSync(join(dir, 'twistd.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const logged: Logged = { child, output: () => `${out}${log()}` };
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`${cmd} start exited with ${child.exitCode}`);
      return ready.test(log());
    }, `${cmd} in ${dir} to start`, 30_000, 50);
  } catch (e) {
    const why = `${(e as Error).message}: ${logged.output().slice(-1500)}`;
    await stopProcess(child, 1_000);
    throw new Error(why);
  }
  return logged;
}

async function waitForWorker(url: string): Promise<void> {
  let ready = false;
  const poll = async () => {
    try {
      const r = await fetch(`${url}/api/v2/workers`);
      const j = (await r.json()) as { workers?: { connected_to?: unknown[]; configured_on?: unknown[] }[] };
      ready = !!j.workers?.some((w) => (w.connected_to?.length ?? 0) > 0 && (w.configured_on?.length ?? 0) > 0);
    } catch {
      /* not up yet */
    }
  };
  await waitFor(
    () => {
      void poll();
      return ready;
    },
    'the Buildbot worker to attach to the master',
    30_000,
    100,
  );
}

function runOnce(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args[0]} failed: ${err.message} ${stdout}${stderr}`)) : resolve()));
  });
}
