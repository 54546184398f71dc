// Real git repositories in temp dirs for tests and benchmarks, with fixed identities and dates so
// every SHA is deterministic. Commits are written with plumbing (hash-object, a temp index,
// commit-tree) or in bulk with `git fast-import`; nothing is ever checked out.
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliGitRepo } from '../../server/git/cli-git-repo.js';
import { GitCli } from '../../server/git/git-cli.js';

/** 2023-11-14T22:13:20Z: the default author/committer date of every fixture commit. */
export const FIXED_EPOCH = 1_700_000_000;

export const FIXTURE_IDENTITY = { name: 'Fixture Bot', email: 'fixture@example.test' } as const;

/**
 * Environment that pins identity and dates and shuts out the user's and system's git config, so the
 * same calls give the same SHAs on every machine.
 */
export function fixedEnv(epoch: number = FIXED_EPOCH): Record<string, string> {
  const date = `${epoch} +0000`;
  return {
    GIT_AUTHOR_NAME: FIXTURE_IDENTITY.name,
    GIT_AUTHOR_EMAIL: FIXTURE_IDENTITY.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: FIXTURE_IDENTITY.name,
    GIT_COMMITTER_EMAIL: FIXTURE_IDENTITY.email,
    GIT_COMMITTER_DATE: date,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
}

export interface FixtureRepo {
  readonly dir: string;
  /** A GitCli whose base env is `fixedEnv()`. */
  readonly git: GitCli;
  /** The same repository through the GitRepo port (real git), opened on first use and closed by cleanup. */
  readonly port: CliGitRepo;
  /** Removes the temp dir. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Makes an empty temp dir; the caller removes it (or use `initRepo`, whose `cleanup` does). */
export function makeTempDir(prefix = 'pm-fixture-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** `git init` in a fresh temp dir. Default branch `master`, bare unless `bare: false`. */
export async function initRepo(opts: { bare?: boolean; branch?: string } = {}): Promise<FixtureRepo> {
  const dir = await makeTempDir();
  const git = new GitCli(dir, fixedEnv());
  const args = ['init', '-q', `--initial-branch=${opts.branch ?? 'master'}`];
  if (opts.bare ?? true) args.push('--bare');
  await git.run([...args, '.']);
  // A deterministic repo: no auto-gc kicking in in the middle of a timed benchmark.
  await git.run(['config', 'gc.auto', '0']);
  let port: CliGitRepo | null = null;
  return {
    dir,
    git,
    get port() {
      return (port ??= new CliGitRepo(git, opts.bare ?? true ? dir : join(dir, '.git')));
    },
    cleanup: async () => {
      await port?.close();
      port = null;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What a commit does to one path: a string is a regular file's content, null deletes the path,
 * the object forms give an executable file, a symlink or a submodule (gitlink) pointing at a SHA.
 */
export type FileChange =
  | string
  | null
  | { readonly content: string; readonly executable?: boolean }
  | { readonly symlink: string }
  | { readonly submodule: string };

export interface CommitSpec {
  /** Parent commits (SHAs or refs); none makes a root commit. */
  readonly parents?: readonly string[];
  /** Changes applied on top of the first parent's tree. Paths use `/` and may contain anything but NUL. */
  readonly files: Readonly<Record<string, FileChange>>;
  readonly message?: string;
  /** Author and committer date as seconds since the epoch (UTC). */
  readonly epoch?: number;
  /** Ref to point at the new commit (e.g. `refs/heads/topic`); none writes no ref. */
  readonly ref?: string;
}

const NULL_SHA = '0000000000000000000000000000000000000000';

/**
 * One commit written with plumbing: blobs via `hash-object -w`, the tree via a throwaway index
 * (`read-tree` + `update-index -z --index-info` + `write-tree`), then `commit-tree`. Returns its SHA.
 */
export async function commitFiles(git: GitCli, spec: CommitSpec): Promise<string> {
  const tmp = await makeTempDir('pm-index-');
  try {
    const env = { ...fixedEnv(spec.epoch), GIT_INDEX_FILE: join(tmp, 'index') };
    const parents = await Promise.all((spec.parents ?? []).map((p) => git.out(['rev-parse', '--verify', `${p}^{commit}`])));
    if (parents[0]) await git.run(['read-tree', parents[0]], { env });
    const lines: string[] = [];
    for (const [path, change] of Object.entries(spec.files)) {
      if (change === null) {
        lines.push(`0 ${NULL_SHA}\t${path}`);
      } else if (typeof change === 'object' && 'submodule' in change) {
        lines.push(`160000 ${change.submodule}\t${path}`);
      } else {
        const content = typeof change === 'string' ? change : 'symlink' in change ? change.symlink : change.content;
        const mode = typeof change === 'string' ? '100644' : 'symlink' in change ? '120000' : change.executable ? '100755' : '100644';
        const blob = await git.out(['hash-object', '-w', '--no-filters', '--stdin'], { input: content });
        lines.push(`${mode} ${blob}\t${path}`);
      }
    }
    if (lines.length > 0) await git.run(['update-index', '-z', '--index-info'], { env, input: lines.map((l) => `${l}\0`).join('') });
    const tree = await git.out(['write-tree'], { env });
    const args = ['commit-tree', tree];
    for (const p of parents) args.push('-p', p);
    const sha = await git.out([...args, '-m', spec.message ?? 'fixture commit'], { env });
    if (spec.ref) await git.run(['update-ref', spec.ref, sha]);
    return sha;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The file contents of `path` at `rev`, or null when absent. */
export async function readBlob(git: GitCli, rev: string, path: string): Promise<string | null> {
  const r = await git.run(['cat-file', '-p', `${rev}:${path}`], { okCodes: [128] });
  return r.exitCode === 0 ? r.stdout : null;
}

/**
 * Contents of many files at `rev` in one `git cat-file --batch` process; absent paths map to null.
 * Paths must not contain newlines (the batch input is line-based).
 */
export async function readFiles(git: GitCli, rev: string, paths: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (paths.length === 0) return out;
  const r = await git.run(['cat-file', '--batch'], { input: paths.map((p) => `${rev}:${p}\n`).join('') });
  // Sizes are in bytes: walk the raw bytes, not the decoded string.
  const buf = Buffer.from(r.stdout, 'utf8');
  let at = 0;
  for (const p of paths) {
    const nl = buf.indexOf(10, at);
    const header = buf.subarray(at, nl).toString('utf8');
    at = nl + 1;
    const m = /^[0-9a-f]+ \w+ (\d+)$/.exec(header);
    if (!m) {
      out.set(p, null);
      continue;
    }
    const size = Number(m[1]);
    out.set(p, buf.subarray(at, at + size).toString('utf8'));
    at += size + 1;
  }
  return out;
}

/** C-style quoting for fast-import paths: any byte but NUL survives (spaces, quotes, newlines, UTF-8). */
function quotePath(path: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${path.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\x00-\x1f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)}"`;
}

export interface ImportCommit extends Omit<CommitSpec, 'parents' | 'ref'> {
  /** Ref fast-import advances; defaults to a scratch ref removed afterwards. */
  readonly ref?: string;
  /**
   * Parents: SHAs, or `:N` for the N-th commit (1-based) of the same `importCommits` call. With
   * none, the commit continues its ref's tip from earlier in the stream (or is a root commit).
   */
  readonly parents?: readonly string[];
  /** Start from an empty tree instead of the first parent's tree. */
  readonly replaceAll?: boolean;
}

const SCRATCH_REF = 'refs/fixtures/scratch';

/**
 * Many commits in one `git fast-import` process (thousands a second). Returns each commit's SHA
 * in input order. Blobs are written inline; identical contents are stored once.
 */
export async function importCommits(git: GitCli, commits: readonly ImportCommit[]): Promise<string[]> {
  const tmp = await makeTempDir('pm-import-');
  try {
    const marksFile = join(tmp, 'marks');
    const chunks: string[] = [];
    const data = (s: string) => {
      chunks.push(`data ${Buffer.byteLength(s)}\n`, s, '\n');
    };
    commits.forEach((c, i) => {
      const date = `${c.epoch ?? FIXED_EPOCH} +0000`;
      const who = `${FIXTURE_IDENTITY.name} <${FIXTURE_IDENTITY.email}> ${date}`;
      chunks.push(`commit ${c.ref ?? SCRATCH_REF}\nmark :${i + 1}\nauthor ${who}\ncommitter ${who}\n`);
      // Same message bytes as `commit-tree -m` (one trailing newline), so both writers give the same SHA.
      data(`${(c.message ?? 'fixture commit').replace(/\n+$/, '')}\n`);
      const [first, ...rest] = c.parents ?? [];
      if (first) chunks.push(`from ${first}\n`);
      for (const p of rest) chunks.push(`merge ${p}\n`);
      if (c.replaceAll) chunks.push('deleteall\n');
      for (const [path, change] of Object.entries(c.files)) {
        const q = quotePath(path);
        if (change === null) chunks.push(`D ${q}\n`);
        else if (typeof change === 'object' && 'submodule' in change) chunks.push(`M 160000 ${change.submodule} ${q}\n`);
        else {
          const content = typeof change === 'string' ? change : 'symlink' in change ? change.symlink : change.content;
          const mode = typeof change === 'string' ? '100644' : 'symlink' in change ? '120000' : change.executable ? '100755' : '100644';
          chunks.push(`M ${mode} inline ${q}\n`);
          data(content);
        }
      }
      chunks.push('\n');
    });
    chunks.push('done\n');
    await git.run(['fast-import', '--quiet', '--done', `--export-marks=${marksFile}`], { input: chunks.join('') });
    const marks = new Map<number, string>();
    for (const line of (await readFile(marksFile, 'utf8')).split('\n')) {
      const m = /^:(\d+) ([0-9a-f]+)$/.exec(line);
      if (m) marks.set(Number(m[1]), m[2]!);
    }
    if (commits.some((c) => !c.ref)) await git.run(['update-ref', '-d', SCRATCH_REF], { okCodes: [1] });
    return commits.map((_, i) => {
      const sha = marks.get(i + 1);
      if (!sha) throw new Error(`fast-import did not report commit ${i + 1}`);
      return sha;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface LargeRepo {
  /** Tip of `refs/heads/master`. */
  readonly master: string;
  /** Every file path in master's tree. */
  readonly paths: readonly string[];
}

/** A small deterministic PRNG (mulberry32), so generated repos are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A file body of `lines` numbered lines, so edits to distinct lines merge cleanly. */
export function numberedLines(path: string, lines: number, tag = ''): string {
  let s = '';
  for (let i = 1; i <= lines; i++) s += `${path} line ${i}${tag}\n`;
  return s;
}

/**
 * A realistic-size history on `refs/heads/master` in one fast-import stream: `files` files spread
 * over nested directories, then `commits - 1` more commits each editing a few random files.
 * ~5,000 files × 2,000 commits takes about a second.
 */
export async function generateLargeRepo(
  git: GitCli,
  opts: { files?: number; commits?: number; linesPerFile?: number; filesPerCommit?: number; seed?: number } = {},
): Promise<LargeRepo> {
  const fileCount = opts.files ?? 5000;
  const commitCount = opts.commits ?? 2000;
  const lines = opts.linesPerFile ?? 20;
  const perCommit = opts.filesPerCommit ?? 3;
  const rnd = seededRandom(opts.seed ?? 42);
  // ~50 files a directory, two levels deep: the shape of a real source tree, which is what makes
  // tree-walking costs in merges realistic.
  const paths: string[] = [];
  for (let i = 0; i < fileCount; i++) {
    const d1 = Math.floor(i / 500);
    const d2 = Math.floor(i / 50) % 10;
    paths.push(`src/mod${d1}/pkg${d2}/file${i}.txt`);
  }
  const root: Record<string, string> = {};
  for (const p of paths) root[p] = numberedLines(p, lines);
  const commits: ImportCommit[] = [{ ref: 'refs/heads/master', files: root, message: 'initial import', epoch: FIXED_EPOCH }];
  for (let c = 1; c < commitCount; c++) {
    const files: Record<string, string> = {};
    for (let k = 0; k < perCommit; k++) {
      const p = paths[Math.floor(rnd() * paths.length)]!;
      files[p] = numberedLines(p, lines, ` rev${c}`);
    }
    commits.push({ ref: 'refs/heads/master', files, message: `change ${c}`, epoch: FIXED_EPOCH + c });
  }
  const shas = await importCommits(git, commits);
  return { master: shas[shas.length - 1]!, paths };
}

/** Writes `lines` to a file (one per line) in `dir`, for scripts that take a list from a file. */
export async function writeListFile(dir: string, name: string, lines: readonly string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}
