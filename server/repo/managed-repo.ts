// The managed repository: a bare repo under the data dir, created on first start with an initial commit
// on master, configured so that every ref update goes through the proc-receive hook (the server decides).
import { chmod, mkdir, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitCli, runGit } from '../git/git-cli.js';
import { ObjectWriter } from '../git/object-writer.js';
import type { RepositoryConfig } from '../config/config.js';

export interface ManagedRepo {
  readonly name: string;
  readonly gitDir: string;
  readonly git: GitCli;
  readonly created: boolean;
  /** Stale lock files removed at start-up (left by a crash). */
  readonly staleLocks: readonly string[];
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

export async function ensureRepository(dataDir: string, cfg: RepositoryConfig): Promise<ManagedRepo> {
  const reposDir = resolve(dataDir, 'repos');
  const gitDir = join(reposDir, `${cfg.name}.git`);
  const created = !(await exists(join(gitDir, 'HEAD')));
  await mkdir(reposDir, { recursive: true });
  if (created) await runGit(reposDir, ['init', '-q', '--bare', `--initial-branch=${cfg.master}`, gitDir]);
  const git = new GitCli(gitDir);
  const staleLocks = created ? [] : await removeStaleLocks(gitDir);

  const hooksDir = resolve(dataDir, 'hooks');
  await mkdir(hooksDir, { recursive: true });
  const hook = join(hooksDir, 'proc-receive');
  // A tiny sh wrapper so the hook runs the same node binary as the server, whatever PATH says.
  await writeFile(hook, `#!/bin/sh\nexec '${process.execPath.replace(/'/g, `'\\''`)}' '${(await hookScript()).replace(/'/g, `'\\''`)}'\n`);
  await chmod(hook, 0o755);

  const settings: [string, string][] = [
    ['core.hooksPath', hooksDir],
    ['http.receivepack', 'true'],
    ['receive.advertisePushOptions', 'true'],
    // Every ref goes through proc-receive: the server accepts refs/pushreq/* and refuses the rest.
    ['receive.procReceiveRefs', 'refs/'],
    ['uploadpack.allowFilter', 'true'],
    ['gc.auto', '0'],
  ];
  for (const [k, v] of settings) await git.run(['config', k, v]);

  if (created || (await git.resolve(`refs/heads/${cfg.master}`)) === null) {
    const writer = new ObjectWriter(gitDir);
    const readme = await writer.blob(`# ${cfg.name}\n\nManaged by Pushmanager. Open a push request with\n\n    git push origin my-branch:refs/pushreq/my-branch -o title="What it does"\n`);
    const tree = await writer.tree([{ name: 'README.md', mode: '100644', sha: readme }]);
    const who = { name: 'Pushmanager', email: 'pushmanager@localhost', date: new Date().toISOString() };
    const commit = await writer.commit({ tree, parents: [], author: who, message: 'Initial commit\n' });
    await git.run(['update-ref', `refs/heads/${cfg.master}`, commit, '0'.repeat(40)]);
  }
  return { name: cfg.name, gitDir, git, created, staleLocks };
}
