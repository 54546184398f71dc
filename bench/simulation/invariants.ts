// The consistency checks that must hold after any crash and at the end of any run, shared by the
// simulation and test/e2e/crash.test.ts: the state on the metadata branch, the request refs and
// the deploy branches agree; no request is lost or duplicated; master is the last certified tag;
// the metadata branch is linear; fsck finds nothing. The checks return the problems they find as
// sentences (empty: all good); the simulation records them, the tests expect none. The repository
// is read directly (git and the state store), never through the server being checked.
import { GitCli } from '../../server/git/git-cli.js';
import { GitStateStore } from '../../server/store/git-state-store.js';
import { isActiveRequest, isOpenPush, type Board } from '../../state/model.js';
import type { StatusView } from '../../state/status-view.js';
import { git, run } from '../lib/proc.js';
import { sleep } from '../lib/sync.js';
import type { PushModel, Story } from './workload.js';

const META = 'refs/heads/pushmanager/meta';

/** Every ref of the repository → the object it points at. */
export async function readRefs(gitDir: string): Promise<Map<string, string>> {
  const out = await git(gitDir, ['for-each-ref', '--format=%(objectname) %(refname)']);
  return new Map(out.split('\n').filter(Boolean).map((l) => [l.slice(41), l.slice(0, 40)] as const));
}

/** The board as the metadata branch records it. */
export async function readBoard(gitDir: string): Promise<Board> {
  const store = new GitStateStore(new GitCli(gitDir), gitDir, META);
  try {
    return (await store.read()).board;
  } finally {
    store.close();
  }
}

/**
 * The board and the refs as of one moment, while a server may be running: its background work
 * (conflict checks, rebuilds) may commit between the two reads, so read again until the metadata
 * branch stood still across both. Null when it kept moving for `attempts` tries.
 */
export async function readSnapshot(gitDir: string, attempts = 5): Promise<{ board: Board; refs: Map<string, string> } | null> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const store = new GitStateStore(new GitCli(gitDir), gitDir, META);
    try {
      const before = await git(gitDir, ['rev-parse', META]);
      const refs = await readRefs(gitDir);
      const { board, version } = await store.read();
      if (version !== before || refs.get(META) !== before) {
        await sleep(200);
        continue;
      }
      return { board, refs };
    } finally {
      store.close();
    }
  }
  return null;
}

/**
 * State against refs: each active request's ref is at its recorded SHA, one active request per
 * ref, no request ref without an active request, each open push's deploy branch is at its
 * recorded deploySha (both old or both new after a crash), no deploy branch left for a closed push.
 */
export function refProblems(board: Board, refs: ReadonlyMap<string, string>): string[] {
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
  return problems;
}

/**
 * `git fsck` without dangling objects (a killed server leaves some; they are garbage, not damage):
 * every line it prints is a problem, and so is a non-zero exit. `full` checks every object
 * strictly; otherwise connectivity only (what a long run can afford after each kill).
 */
export async function fsckProblems(gitDir: string, opts: { full?: boolean } = {}): Promise<string[]> {
  const r = await run('git', ['fsck', '--no-dangling', '--no-progress', opts.full ? '--strict' : '--connectivity-only'], { cwd: gitDir });
  const problems = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() && !l.startsWith('dangling '));
  if (r.code !== 0 && !problems.length) problems.push(`git fsck exited with ${r.code}`);
  return problems;
}

/** Lock files a killed git left behind (noted, not a violation: git refuses to work while they stand). */
export async function lockFiles(gitDir: string): Promise<string[]> {
  const r = await run('find', [gitDir, '-name', '*.lock'], {});
  return r.stdout.trim() ? r.stdout.trim().split('\n') : [];
}

/** What the board says about every story: each one request, in the story's state, at its SHA, in its push. */
export interface StoryCheck {
  readonly lost: number;
  readonly duplicated: number;
  readonly wrong: number;
  readonly strangers: number;
  readonly problems: readonly string[];
}

export function storyProblems(stories: readonly Story[], b: StatusView): StoryCheck {
  const problems: string[] = [];
  const byRef = new Map<string, StatusView['requests'][number][]>();
  for (const r of b.requests) byRef.set(r.ref, [...(byRef.get(r.ref) ?? []), r]);
  const storyRefs = new Set(stories.map((s) => s.ref));
  let lost = 0;
  let duplicated = 0;
  let wrong = 0;
  for (const s of stories) {
    const found = byRef.get(s.ref) ?? [];
    if (s.state === 'unborn') {
      if (found.length) {
        wrong++;
        problems.push(`${s.ref}: never opened in the story, but the board has request(s) ${found.map((r) => r.id).join(', ')}`);
      }
      continue;
    }
    if (!found.length) {
      lost++;
      problems.push(`${s.ref}: LOST (story: ${s.log.join('; ')})`);
      continue;
    }
    if (found.length > 1) {
      duplicated++;
      problems.push(`${s.ref}: DUPLICATED as requests ${found.map((r) => `${r.id} (${r.state})`).join(', ')}`);
    }
    const r = found.find((x) => x.id === s.id) ?? found[0]!;
    if (r.id !== s.id || r.state !== s.state || r.sha !== s.sha || (r.push ?? null) !== (s.push ?? null)) {
      wrong++;
      problems.push(`${s.ref}: request ${r.id} is ${r.state} in push ${r.push} at ${r.sha.slice(0, 8)}; the story says ${s.id} ${s.state} in push ${s.push} at ${s.sha?.slice(0, 8)} (story: ${s.log.join('; ')})`);
    }
  }
  const strangers = b.requests.filter((r) => !storyRefs.has(r.ref));
  for (const r of strangers) problems.push(`request ${r.id} ${r.ref} (${r.state}) belongs to no story`);
  return { lost, duplicated, wrong, strangers: strangers.length, problems };
}

/** master against the tag of the last push certified: `summary` says what was found, `problem` is null when they agree. */
export async function masterProblem(gitDir: string, pushes: readonly PushModel[]): Promise<{ summary: string; problem: string | null }> {
  const lastTag = [...pushes].reverse().find((p) => p.state === 'live')?.tag;
  if (!lastTag) return { summary: 'no push certified', problem: null };
  const master = await git(gitDir, ['rev-parse', 'refs/heads/master']);
  const tagged = await git(gitDir, ['rev-parse', `refs/tags/${lastTag}^{commit}`]).catch(() => 'missing');
  const summary = tagged === master ? `master = ${lastTag} (${master.slice(0, 8)})` : `master ${master.slice(0, 8)} ≠ ${lastTag} ${tagged.slice(0, 8)}`;
  return { summary, problem: tagged === master ? null : `master is not the last certified tag: ${summary}` };
}

/** The metadata branch is a line of commits (each command one commit on the last): merges mean a lost compare-and-swap. */
export async function metaHistoryProblem(gitDir: string): Promise<string | null> {
  const merges = await git(gitDir, ['rev-list', '--count', '--merges', META]);
  return merges === '0' ? null : `the metadata branch has ${merges} merge commits: its history is not linear`;
}

// ---- the simulation's use of them: problems become violations (or notes, before reconcile)

/** Where the simulation records what the checks find (the World). */
export interface CheckRecorder {
  readonly notes: string[];
  readonly counts: Record<string, number>;
  count(k: string, by?: number): void;
  violation(s: string): void;
}

function recordRefProblems(rec: CheckRecorder, when: string, problems: readonly string[], beforeReconcile: boolean): void {
  // Before reconcile, drift is expected (a kill between a ref update and its commit): noted and counted.
  if (beforeReconcile) {
    for (const p of problems) rec.notes.push(`${when}: ${p} (before reconcile)`);
    if (problems.length) rec.count('drift found before reconcile', problems.length);
  } else for (const p of problems) rec.violation(`${when}: ${p}`);
}

/** State, refs and deploy branches read straight from the repository (the server is down), and fsck. */
export async function checkRepo(w: CheckRecorder & { readonly gitDir: string }, when: string, opts: { beforeReconcile?: boolean } = {}): Promise<Board> {
  const board = await readBoard(w.gitDir);
  const refs = await readRefs(w.gitDir);
  recordRefProblems(w, when, refProblems(board, refs), opts.beforeReconcile ?? false);
  const fsck = await fsckProblems(w.gitDir);
  if (fsck.length) w.violation(`${when}: git fsck: ${fsck.join('\n').slice(0, 500)}`);
  const locks = await lockFiles(w.gitDir);
  if (locks.length) w.notes.push(`${when}: lock files left behind: ${locks.join(', ')}`);
  return board;
}

/** After a restart, with every actor held: the state against the refs, while the server runs. */
export async function checkLive(w: CheckRecorder & { readonly gitDir: string }, when: string): Promise<void> {
  const snap = await readSnapshot(w.gitDir);
  if (!snap) w.notes.push(`${when}: the metadata branch kept moving; live check skipped`);
  else recordRefProblems(w, when, refProblems(snap.board, snap.refs), false);
}

/** Every story against the final board; the counts feed the report's correctness lines. */
export function checkStories(w: CheckRecorder & { readonly stories: readonly Story[] }, b: StatusView): void {
  const c = storyProblems(w.stories, b);
  for (const p of c.problems) w.violation(p);
  w.counts['lost requests'] = c.lost;
  w.counts['duplicated requests'] = c.duplicated;
  w.counts['requests in a state other than the story'] = c.wrong;
  w.counts['requests with no story'] = c.strangers;
}
