// The managed repository: a bare repo under the data dir, created on first start with an initial commit
// on master, configured so that every ref update goes through the proc-receive hook (the server decides).
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliGitRepo } from '../git/cli-git-repo.js';
import { GitCli, runGit } from '../git/git-cli.js';
import type { GitRepo } from '../git/git-repo.js';
import type { RepositoryConfig } from '../config/config.js';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export interface ManagedRepo {
  readonly name: string;
  readonly gitDir: string;
  /** git itself, for what is not a repository operation (configuration, transport, housekeeping). */
  readonly git: GitCli;
  /** The repository through the GitRepo port: objects, refs, merges, history. Close it at shutdown. */
  readonly repo: GitRepo;
  readonly created: boolean;
  /** Stale lock files removed at start-up (left by a crash). */
  readonly staleLocks: readonly string[];
  /** What runs the proc-receive hook, and why that one (for the start-up log). */
  readonly hookRuntime: HookRuntime;
  readonly hookRuntimeReason: string;
}

/** `perl` runs hooks/proc-receive.pl (starts in ~10-30 ms), `node` the compiled proc-receive.js (~200 ms). */
export type HookRuntime = 'node' | 'perl';

export interface EnsureRepositoryOptions {
  /** Forces the hook runtime; by default PUSHMANAGER_HOOK_RUNTIME, else perl when it can run the hook. */
  readonly hookRuntime?: HookRuntime;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

/** Root of the installed package (where package.json is), found from this file's location. */
export async function packageRoot(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (await exists(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the pushmanager package root');
    dir = up;
  }
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The compiled hook; `npm install` (prepare) and `npm test` (pretest) build it. */
export async function hookScript(): Promise<string> {
  const path = join(await packageRoot(), 'dist', 'hooks', 'proc-receive.js');
  if (!(await exists(path))) throw new Error(`${path} is missing: run \`npm run build\` first`);
  return path;
}

/** The Perl hook, read from the package's own hooks/ folder: it needs no build step. */
export async function perlHookScript(): Promise<string> {
  return join(await packageRoot(), 'hooks', 'proc-receive.pl');
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue; // an empty or relative entry would pick up a `perl` from the current directory
    const p = resolve(dir, name);
    if ((await stat(p).then((s) => s.isFile(), () => false)) && (await access(p, constants.X_OK).then(() => true, () => false))) return p;
  }
  return null;
}

type PerlProbe = { readonly ok: true; readonly perl: string } | { readonly ok: false; readonly why: string };
const perlProbes = new Map<string, Promise<PerlProbe>>();

/**
 * Can this machine's perl run the hook? `perl -c` compiles the script, which loads every module it uses
 * (Socket included), without running it. Checked once per process; the absolute path goes into the
 * wrapper so the hook does not depend on the PATH git-http-backend passes on.
 */
export function probePerl(script: string): Promise<PerlProbe> {
  let probe = perlProbes.get(script);
  if (!probe) {
    probe = (async (): Promise<PerlProbe> => {
      const perl = await findOnPath('perl');
      if (!perl) return { ok: false, why: 'perl is not on PATH' };
      return new Promise((done) => {
        execFile(perl, ['-c', script], { timeout: 10_000 }, (err, _out, stderr) => {
          if (err) done({ ok: false, why: `${perl} -c ${script} failed: ${(stderr || err.message).trim().slice(0, 500)}` });
          else done({ ok: true, perl });
        });
      });
    })();
    perlProbes.set(script, probe);
  }
  return probe;
}

/** The hook runtime asked for (PUSHMANAGER_HOOK_RUNTIME or the caller) is not one, or cannot run here. */
export class HookRuntimeError extends PushmanagerError {
  constructor(
    readonly code: 'bad-hook-runtime' | 'hook-runtime-unavailable',
    message: string,
    data: Readonly<Record<string, unknown>>,
  ) {
    super(message, data);
  }
}

function parseRuntime(value: string | undefined): HookRuntime | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'node' || value === 'perl') return value;
  throw new HookRuntimeError('bad-hook-runtime', `PUSHMANAGER_HOOK_RUNTIME must be "node" or "perl", not ${JSON.stringify(value)}`, { value });
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The Perl hook itself with this machine's perl on its `#!` line, so git execs perl directly: an sh in
 * front of it cost ~0.7 ms of CPU a push (issue 17). It is written afresh at every start, so it follows the
 * package's hooks/proc-receive.pl. A perl path the kernel cannot take on a `#!` line (whitespace, or longer
 * than the 127 bytes older kernels read) keeps the sh wrapper.
 */
async function perlHookText(perl: string, script: string): Promise<string> {
  if (/\s/.test(perl) || Buffer.byteLength(perl) > 120) return `#!/bin/sh\nexec ${shQuote(perl)} ${shQuote(script)}\n`;
  const text = await readFile(script, 'utf8');
  return `#!${perl}\n${text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text}`;
}

/**
 * What git runs as proc-receive: the Perl hook (above) when perl can run it (or when forced), else an sh
 * wrapper that runs the same node binary as the server, whatever PATH says. Paths are single-quoted for sh.
 */
async function hookWrapper(opts: EnsureRepositoryOptions): Promise<{ runtime: HookRuntime; reason: string; text: string }> {
  const forced = opts.hookRuntime ?? parseRuntime(process.env.PUSHMANAGER_HOOK_RUNTIME);
  const forcedBy = opts.hookRuntime ? 'forced by the caller' : 'forced by PUSHMANAGER_HOOK_RUNTIME';
  const node = async (reason: string) => ({ runtime: 'node' as const, reason, text: `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(await hookScript())}\n` });
  if (forced === 'node') return node(forcedBy);
  const script = await perlHookScript();
  const probe = await probePerl(script);
  if (probe.ok) return { runtime: 'perl', reason: forced ? forcedBy : `${probe.perl} can run it`, text: await perlHookText(probe.perl, script) };
  if (forced === 'perl') throw new HookRuntimeError('hook-runtime-unavailable', `the hook runtime is ${forcedBy.replace('forced by ', 'set to perl by ')}, but perl cannot run the hook: ${probe.why}`, { runtime: 'perl', why: probe.why });
  return node(`perl cannot run the hook (${probe.why})`);
}

/**
 * Lock files a killed `git update-ref` left behind. At start-up this server is the only writer of its
 * refs, so any `*.lock` under refs/ (and packed-refs.lock) is stale; left there, it would refuse every
 * later write to that ref ("File exists").
 */
export async function removeStaleLocks(gitDir: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.lock')) {
        await unlink(p);
        removed.push(p.slice(gitDir.length + 1));
      }
    }
  };
  await walk(join(gitDir, 'refs'));
  if (await exists(join(gitDir, 'packed-refs.lock'))) {
    await unlink(join(gitDir, 'packed-refs.lock'));
    removed.push('packed-refs.lock');
  }
  return removed;
}

/**
 * Refs hidden from receive-pack (`receive.hideRefs`): not advertised on a push's GET, not walked by its
 * connectivity check (git's `rev-list --objects --not --exclude-hidden=receive --all`), and a push to them
 * is refused by git itself ("deny updating a hidden ref"; server/http/git-http.ts says why on `remote:`).
 * - A discarded request's archive ref (one per request, ever) is no business of a pusher.
 * - The metadata branch: its history is one commit per state change, all newer than most pushed commits,
 *   and the connectivity check walks negative tips newest first down to the pushed commit's date, so it
 *   read every state commit made since the pushed commit was: a cost that grows all day (issue 17: a
 *   push's CPU, server and git, 34.7 → 26.1 ms at 28 pushes/s in a 70-s capacity run with it hidden).
 *   No pushed commit descends from it. Fetches (upload-pack) still see it.
 */
export function hiddenFromPushers(cfg: Pick<RepositoryConfig, 'metadataBranch'>): string[] {
  return ['refs/pushmanager/archive/', metadataRef(cfg)];
}

/** The metadata branch's full ref name. */
export const metadataRef = (cfg: Pick<RepositoryConfig, 'metadataBranch'>): string => `refs/heads/${cfg.metadataBranch}`;

export async function ensureRepository(dataDir: string, cfg: RepositoryConfig, opts: EnsureRepositoryOptions = {}): Promise<ManagedRepo> {
  const reposDir = resolve(dataDir, 'repos');
  const gitDir = join(reposDir, `${cfg.name}.git`);
  const created = !(await exists(join(gitDir, 'HEAD')));
  await mkdir(reposDir, { recursive: true });
  if (created) await runGit(reposDir, ['init', '-q', '--bare', `--initial-branch=${cfg.master}`, gitDir]);
  const git = new GitCli(gitDir);
  const repo = new CliGitRepo(git, gitDir);
  const staleLocks = created ? [] : await removeStaleLocks(gitDir);

  const hooksDir = resolve(dataDir, 'hooks');
  await mkdir(hooksDir, { recursive: true });
  const hook = join(hooksDir, 'proc-receive');
  const wrapper = await hookWrapper(opts);
  await writeFile(hook, wrapper.text);
  await chmod(hook, 0o755);
  opts.log?.('info', `proc-receive hook runs on ${wrapper.runtime}: ${wrapper.reason}`);

  const settings: [string, string][] = [
    ['core.hooksPath', hooksDir],
    ['http.receivepack', 'true'],
    ['receive.advertisePushOptions', 'true'],
    // Every ref goes through proc-receive: the server accepts refs/pushreq/* and refuses the rest.
    ['receive.procReceiveRefs', 'refs/'],
    ['uploadpack.allowFilter', 'true'],
    ['gc.auto', '0'],
    // Two processes git would start on every push for nothing (measured: 2 of ~14 per push, and on this
    // kind of machine each process start costs 10-40 ms of CPU): receive-pack's `gc --auto`, which
    // gc.auto=0 turns into a no-op anyway, and the connectivity check's `for-each-ref` over the
    // quarantine's "alternate", which is this same repository, whose refs `--all` already excludes.
    // `true` prints no extra tips, so the check walks exactly what it walked before.
    ['receive.autogc', 'false'],
    ['core.alternateRefsCommand', 'true'],
    // A pack over this is refused by receive-pack itself, before it is stored ("pack exceeds maximum allowed size").
    ['receive.maxInputSize', String(cfg.maxPushBytes)],
  ];
  for (const [k, v] of settings) await git.run(['config', k, v]);
  // Hidden from receive-pack (hiddenFromPushers), set afresh at every start: a value list, not one value.
  const [firstHidden, ...moreHidden] = hiddenFromPushers(cfg);
  await git.run(['config', '--replace-all', 'receive.hideRefs', firstHidden!]);
  for (const h of moreHidden) await git.run(['config', '--add', 'receive.hideRefs', h]);

  const master = `refs/heads/${cfg.master}`;
  if (created || (await repo.readRef(master)) === null) {
    const readme = await repo.writeBlob(`# ${cfg.name}\n\nManaged by Pushmanager. Open a push request with\n\n    git push origin my-branch:refs/pushreq/my-branch -o title="What it does"\n`);
    const tree = await repo.writeTree([{ name: 'README.md', mode: '100644', sha: readme }]);
    const who = { name: 'Pushmanager', email: 'pushmanager@localhost', date: new Date().toISOString() };
    const commit = await repo.writeCommit({ tree, parents: [], author: who, message: 'Initial commit\n' });
    // Only where there is no master yet: one that appeared meanwhile (RefChanged) is kept.
    await repo.updateRefs([{ ref: master, newSha: commit, oldSha: null }]);
  }
  return { name: cfg.name, gitDir, git, repo, created, staleLocks, hookRuntime: wrapper.runtime, hookRuntimeReason: wrapper.reason };
}
