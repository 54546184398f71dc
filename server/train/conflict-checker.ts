// Conflict detection for a push's requests, incremental and pruned: each SHA's changed paths are
// computed once per master, only pairs that could conflict get a trial merge, and every result is
// cached, so a re-push or a new pickme costs a handful of merges rather than the whole matrix.
// Who a conflict is charged to follows the original: a request in conflict with master is judged
// against master only, and of a pair, the request already in the deploy branch wins (state/conflict-blame).
// All git work goes through the GitRepo port (server/git/git-repo.ts); the CLI repository answers
// merge bases and changed paths in-process where it can (its stats say how often).
import type { ChangedPaths, GitRepo, Identity, MergeSession, MergeTreeResult } from '../git/git-repo.js';
import { chargedWithPair, type MergePosition } from '../../state/conflict-blame.js';
import { mapLimit } from './map-limit.js';
import { PairCache, PerMaster } from './check-caches.js';

/** Why a request whose history shares no commit with master conflicts with it, and what to do. */
export const UNRELATED_HISTORY = 'no history in common with master; base the branch on master (git rebase origin/master) and push again';

export interface Candidate {
  readonly id: number;
  readonly sha: string;
  /** Its position in the deploy branch's merge order when it is merged (accepted); absent or null for a pickme. */
  readonly merged?: MergePosition;
}
export interface FoundConflict {
  readonly with: 'master' | number;
  readonly files: string[];
  /** Why, when the files do not say it (the submodule guard). */
  readonly reason?: string;
}

export interface ConflictCheckerStats {
  /** Trial merges of a request with another request. */
  trialMerges: number;
  /** Trial merges of a request with master. */
  masterMerges: number;
  /** Pairs found unable to conflict from their changed paths alone. */
  prunedPairs: number;
  pairCacheHits: number;
  /** (sha, master) facts served from cache. */
  shaCacheHits: number;
}

export interface ConflictCheckerOptions {
  readonly cacheSize?: number;
}

/** What one SHA looks like from one master: computed once, then cached. */
interface ShaFacts {
  /** Already merged into master: it can conflict with nothing. */
  readonly inMaster: boolean;
  /** Paths changed since the merge base(s) with master (old and new names of renames). */
  readonly paths: ReadonlySet<string>;
  /** Renames, copies, submodules or no merge base: path sets prove nothing, always trial-merge. */
  readonly risky: boolean;
  readonly master: MergeTreeResult | null;
  /**
   * Its conflict with master (the merge's files, or a submodule moved to a commit that is not a
   * fast-forward), or null. A SHA with one is judged against master only: its pairs are not merged.
   */
  readonly masterConflict: FoundConflict | null;
  /** master + this SHA as a commit, the base for this SHA's pair merges; made on demand. */
  mergedCommit: string | null;
}

// Fixed identity and date: the helper commits are identical on every run, so pair results depend
// only on the SHAs involved (and are never reachable from any ref: gc removes them).
const CHECK_IDENT: Identity = { name: 'Pushmanager conflict check', email: 'pushmanager@localhost', date: '0 +0000' };
// Merges per `merge-tree --stdin` process: small enough for progress and for both cores to share
// the work, large enough that process starts do not dominate.
const CHUNK = 24;
const WORKERS = 2;

/** A pair's trial merge: clean, or the conflicted files. */
interface PairResult {
  readonly clean: boolean;
  readonly files: readonly string[];
}
const CLEAN: PairResult = { clean: true, files: [] };

export class ConflictChecker {
  readonly stats: ConflictCheckerStats = {
    trialMerges: 0,
    masterMerges: 0,
    prunedPairs: 0,
    pairCacheHits: 0,
    shaCacheHits: 0,
  };
  private readonly facts: PerMaster<ShaFacts>;
  private readonly pairs: PairCache<PairResult>;

  constructor(
    /** The managed repository; its owner closes it. */
    private readonly repo: GitRepo,
    opts: ConflictCheckerOptions = {},
  ) {
    const size = opts.cacheSize ?? 20_000;
    this.facts = new PerMaster(size);
    this.pairs = new PairCache(size);
  }

  /** Conflicts of `target` with master and with each of `others` (pickmes and accepted requests of the same push). */
  async checkOne(masterSha: string, target: Candidate, others: readonly Candidate[]): Promise<FoundConflict[]> {
    // Only pairs the target is charged with are merged: a pickme's conflict with an accepted request is the pickme's.
    const mine = target.merged ?? null;
    const list = others.filter((o) => o.id !== target.id && chargedWithPair(mine, o.merged ?? null));
    const facts = await this.factsFor(masterSha, [target.sha, ...list.map((o) => o.sha)]);
    const pairFiles = await this.pairsFor(masterSha, list.map((o) => [target.sha, o.sha] as const), facts);
    return this.conflictsOf(target, facts, list.map((o, k) => [o.id, pairFiles[k]!] as const));
  }

  /**
   * The whole matrix for a push: every candidate against master and every pair. It runs again after
   * every change to the push, when nearly every pair is settled from facts or cache: those are settled
   * in place, and only the pairs left to merge are listed.
   */
  async checkAll(masterSha: string, candidates: readonly Candidate[], onProgress?: (done: number, total: number) => void): Promise<Map<number, FoundConflict[]>> {
    const n = candidates.length;
    // Progress: one step per candidate (its changed paths and master merge), one per pair.
    const total = n + (n * (n - 1)) / 2;
    let done = 0;
    const step = (k: number) => {
      done += k;
      onProgress?.(done, total);
    };
    const facts = await this.factsFor(masterSha, candidates.map((c) => c.sha));
    step(n);
    // Conflicting pairs only, by candidate charged, with the other's position so each list keeps candidate order.
    const conflicted = new Map<number, [number, number, PairResult][]>();
    const note = (i: number, j: number, r: PairResult) => {
      if (r.clean) return;
      for (const [x, y] of [[i, j], [j, i]] as const) {
        if (!chargedWithPair(candidates[x]!.merged ?? null, candidates[y]!.merged ?? null)) continue;
        const list = conflicted.get(x) ?? [];
        list.push([y, candidates[y]!.id, r]);
        conflicted.set(x, list);
      }
    };
    const left: [number, number][] = [];
    let settled = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const r = this.settle(masterSha, candidates[i]!.sha, candidates[j]!.sha, facts);
        if (r) {
          settled++;
          note(i, j, r);
        } else left.push([i, j]);
      }
    }
    step(settled);
    if (left.length) {
      const results = await this.pairsFor(masterSha, left.map(([i, j]) => [candidates[i]!.sha, candidates[j]!.sha] as const), facts, step);
      left.forEach(([i, j], k) => note(i, j, results[k]!));
    }
    const out = new Map<number, FoundConflict[]>();
    candidates.forEach((c, i) => {
      const pairs = (conflicted.get(i) ?? []).sort((x, y) => x[0] - y[0]).map(([, id, r]) => [id, r] as const);
      out.set(c.id, this.conflictsOf(c, facts, pairs));
    });
    return out;
  }

  /**
   * A pair's result when it needs no merge: the same SHA or one already in master (clean), one in
   * conflict with master (judged against master only: not charged to the pair), a cached result, or
   * disjoint changed paths with no renames or submodules (clean, and cached). Else null.
   */
  private settle(master: string, a: string, b: string, facts: Map<string, ShaFacts>): PairResult | null {
    const fa = facts.get(a)!;
    const fb = facts.get(b)!;
    // A conflict with master is reported there, and only there: merging such a pair on the two
    // requests' own merge base charged one side's conflict with master to the other (a rename-only
    // pickme was told it conflicts in a file it never touched). An unrelated history is one of these
    // (git would refuse its trial merge outright).
    if (a === b || fa.inMaster || fb.inMaster || fa.masterConflict || fb.masterConflict) return CLEAN;
    const hit = this.pairs.get(master, a, b);
    if (hit) {
      this.stats.pairCacheHits++;
      return hit;
    }
    if (!fa.risky && !fb.risky && !overlaps(fa.paths, fb.paths)) {
      this.stats.prunedPairs++;
      this.pairs.set(master, a, b, CLEAN);
      return CLEAN;
    }
    return null;
  }

  private conflictsOf(target: Candidate, facts: Map<string, ShaFacts>, pairs: readonly (readonly [number, PairResult])[]): FoundConflict[] {
    const mine = facts.get(target.sha)!;
    if (mine.inMaster) return [];
    const m = mine.masterConflict;
    if (m) return [{ with: 'master', files: [...m.files], ...(m.reason !== undefined && { reason: m.reason }) }];
    const out: FoundConflict[] = [];
    for (const [id, r] of pairs) if (!r.clean) out.push({ with: id, files: [...r.files] });
    return out;
  }

  /** Facts for each distinct SHA, from cache or computed in as few git processes as possible. */
  private async factsFor(master: string, shas: readonly string[]): Promise<Map<string, ShaFacts>> {
    const out = new Map<string, ShaFacts>();
    const missing: string[] = [];
    for (const sha of new Set(shas)) {
      const hit = this.facts.get(master, sha);
      if (hit) {
        this.stats.shaCacheHits++;
        out.set(sha, hit);
      } else missing.push(sha);
    }
    if (missing.length === 0) return out;

    const bases = await this.mergeBases(master, missing);
    const live = missing.filter((sha, k) => !bases[k]!.includes(sha));
    const related = live.filter((sha) => bases[missing.indexOf(sha)]!.length > 0);
    // Changed paths of every SHA while master merges run beside them.
    const [changes, masterMerges] = await Promise.all([
      this.changesOf(related.map((sha) => [sha, bases[missing.indexOf(sha)]!] as const)),
      this.mergeChunks(related.map((sha) => [master, sha] as const)),
    ]);
    this.stats.masterMerges += related.length;
    // Submodules can only move in a risky SHA (the changed-path sets flag every gitlink).
    const risky = related.filter((sha) => changes.get(sha)!.risky);
    const submodules = risky.length ? await this.submoduleGuard(master, risky.map((sha) => [sha, bases[missing.indexOf(sha)]!] as const)) : NO_PROBLEMS;
    missing.forEach((sha, k) => {
      const b = bases[k]!;
      let f: ShaFacts;
      if (b.includes(sha)) f = { inMaster: true, paths: new Set(), risky: false, master: null, masterConflict: null, mergedCommit: null };
      else if (b.length === 0) {
        // Unrelated history: it cannot be merged at all, which is a conflict with master.
        f = { inMaster: false, paths: new Set(), risky: true, master: { clean: false, tree: '', files: [] }, masterConflict: { with: 'master', files: [], reason: UNRELATED_HISTORY }, mergedCommit: null };
      } else {
        const ch = changes.get(sha)!;
        const merged = masterMerges[related.indexOf(sha)]!;
        f = { inMaster: false, paths: ch.paths, risky: ch.risky, master: merged, masterConflict: masterConflictOf(merged, submodules.get(sha)), mergedCommit: null };
      }
      this.facts.set(master, sha, f);
      out.set(sha, f);
    });
    return out;
  }

  /** `merge-base --all master sha` for each SHA (the repository answers in-process where it can). */
  private mergeBases(master: string, shas: readonly string[]): Promise<string[][]> {
    return Promise.all(shas.map((sha) => this.repo.mergeBases(master, sha)));
  }

  /** Changed paths of each SHA since its merge base(s), with rename and submodule flags. */
  private async changesOf(items: readonly (readonly [string, readonly string[]])[]): Promise<Map<string, ChangedPaths>> {
    const changes = await this.repo.changedPaths(items.map(([sha, bases]) => ({ sha, bases })));
    return new Map(items.map(([sha], k) => [sha, changes[k]!]));
  }

  /**
   * The submodule guard (the original's): a SHA that moves a submodule (gitlink) to a commit that is not
   * a fast-forward of master's commit for that path conflicts with master. "Fast-forward" is decided in
   * the managed repository, which holds a submodule's commits only when someone put them there (on the
   * request's history, or under a ref of their own such as an operator's mirror). When the request's
   * commit is not there, nothing shows that it fast-forwards master's, so it counts as not one — the
   * original likewise refused a commit not yet on the submodule's master (docs/decisions.md). When only
   * master's commit is missing, it is not in the request's commit's history: not a fast-forward either.
   * A submodule master does not have (new) or has as something else is left to the trial merge.
   */
  private async submoduleGuard(master: string, items: readonly (readonly [string, readonly string[]])[]): Promise<ReadonlyMap<string, readonly SubmoduleProblem[]>> {
    const moves = await this.gitlinksSet(items);
    const paths = [...new Set([...moves.values()].flatMap((m) => [...m.keys()]))];
    if (paths.length === 0) return NO_PROBLEMS;
    const onMaster = await this.gitlinksAt(master, paths);
    const checks: { sha: string; path: string; from: string; to: string }[] = [];
    for (const [sha, m] of moves) {
      for (const [path, to] of m) {
        const from = onMaster.get(path);
        if (from !== undefined && from !== to) checks.push({ sha, path, from, to });
      }
    }
    if (checks.length === 0) return NO_PROBLEMS;
    const held = await this.commitsHeld([...new Set(checks.flatMap((c) => [c.from, c.to]))]);
    const verdicts = await mapLimit(checks, WORKERS, async (c): Promise<SubmoduleProblem | null> => {
      const [from, to] = [abbrev(c.from), abbrev(c.to)];
      if (!held.has(c.to)) return { path: c.path, reason: `Submodule ${c.path} moves to ${to}, which the managed repository does not hold: it cannot be shown to be a fast-forward of ${from} (master's commit)` };
      const ff = held.has(c.from) && (await this.repo.isAncestor(c.from, c.to));
      return ff ? null : { path: c.path, reason: `Submodule ${c.path} is not a fast-forward of ${from} (master's commit): the request moves it to ${to}` };
    });
    const out = new Map<string, SubmoduleProblem[]>();
    checks.forEach((c, k) => {
      const v = verdicts[k];
      if (!v) return;
      const list = out.get(c.sha) ?? [];
      list.push(v);
      out.set(c.sha, list);
    });
    return out;
  }

  /** The gitlinks each SHA sets since its merge base(s): path → the commit it points at, from one batch of diffs. */
  private async gitlinksSet(items: readonly (readonly [string, readonly string[]])[]): Promise<Map<string, Map<string, string>>> {
    const pairs = items.flatMap(([sha, bases]) => bases.map((base) => [sha, base] as const));
    // No rename detection: only where each gitlink ends up matters.
    const diffs = await this.repo.diffTrees(pairs, { renames: false });
    const out = new Map<string, Map<string, string>>();
    pairs.forEach(([sha], k) => {
      const m = out.get(sha) ?? new Map<string, string>();
      out.set(sha, m);
      for (const e of diffs[k]!) if (e.newMode === '160000') m.set(e.path, e.newSha);
    });
    return out;
  }

  /** Master's gitlinks at `paths` (path → commit); paths that are absent or not gitlinks are left out. */
  private async gitlinksAt(master: string, paths: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const e of await this.repo.lsTree(master, paths)) if (e.mode === '160000') out.set(e.path, e.sha);
    return out;
  }

  /** Which of `ids` are commits in the managed repository. */
  private async commitsHeld(ids: readonly string[]): Promise<Set<string>> {
    const types = await this.repo.objectTypes(ids);
    return new Set(ids.filter((id) => types.get(id) === 'commit'));
  }

  /** A push's few merges (a new pickme against its overlapping peers) go through one long-lived process. */
  private stream: MergeSession | null = null;

  private async streamed(pairs: readonly (readonly [string, string])[]): Promise<MergeTreeResult[]> {
    const stream = (this.stream ??= this.repo.openMergeSession());
    try {
      return await Promise.all(pairs.map(([a, b]) => stream.merge(a, b)));
    } catch (e) {
      // git ends the session on an error: the next check starts a new one.
      if (this.stream === stream) this.stream = null;
      void stream.close();
      throw e;
    }
  }

  /**
   * Forgets every cached fact and trial merge. They name unreachable objects (merged trees, helper
   * commits) that repository maintenance may prune; the next check computes them again.
   */
  forget(): void {
    this.facts.clear();
    this.pairs.clear();
  }

  /** Ends the long-lived merge session, if any (a later check starts one again); the repository stays open. */
  async close(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    await s?.close();
  }

  /** Many merges split into chunks over two `merge-tree --stdin` processes; a few through the long-lived one. */
  private async mergeChunks(pairs: readonly (readonly [string, string])[], onChunk?: (n: number) => void): Promise<MergeTreeResult[]> {
    if (pairs.length > 0 && pairs.length <= CHUNK) {
      const r = await this.streamed(pairs);
      onChunk?.(pairs.length);
      return r;
    }
    const chunks: (readonly (readonly [string, string])[])[] = [];
    for (let i = 0; i < pairs.length; i += CHUNK) chunks.push(pairs.slice(i, i + CHUNK));
    const results = await mapLimit(chunks, WORKERS, async (chunk) => {
      const r = await this.repo.mergeTrees(chunk);
      onChunk?.(chunk.length);
      return r;
    });
    return results.flat();
  }

  /**
   * The trial-merge result of each pair. Pairs whose changed paths are disjoint
   * (and carry no renames or submodules) cannot conflict and are not merged, nor are pairs with a
   * request in conflict with master (see settle). The others: the second request merged onto
   * (master + the first) — what the deploy branch would do — so a conflict is one between the two
   * changes, never one of them against master.
   */
  private async pairsFor(
    master: string,
    pairs: readonly (readonly [string, string])[],
    facts: Map<string, ShaFacts>,
    step?: (k: number) => void,
  ): Promise<PairResult[]> {
    const out: PairResult[] = new Array(pairs.length);
    const todo = new Map<string, { a: string; b: string; slots: number[] }>();
    let settled = 0;
    pairs.forEach(([a, b], k) => {
      const r = this.settle(master, a, b, facts);
      if (r) {
        out[k] = r;
        settled++;
        return;
      }
      // Asked twice in one call (the same two SHAs under two ids): merged once.
      const key = a < b ? `${a}${b}` : `${b}${a}`;
      const t = todo.get(key);
      if (t) t.slots.push(k);
      else todo.set(key, { a: a < b ? a : b, b: a < b ? b : a, slots: [k] });
    });
    step?.(settled);
    if (todo.size === 0) return out;

    // Base side of each pair: master + the lower SHA (both merge cleanly with master, or settle would
    // have answered), so the result is the same whichever way the pair is asked.
    const jobs = [...todo.values()];
    await this.ensureMergedCommits(master, [...new Set(jobs.map((j) => j.a))], facts);
    const merges = await this.mergeChunks(
      jobs.map((j) => [facts.get(j.a)!.mergedCommit!, j.b] as const),
      (n) => step?.(n),
    );
    this.stats.trialMerges += jobs.length;
    // Pairs asked twice in one call were merged once; count them done too.
    step?.(jobs.reduce((s, j) => s + j.slots.length - 1, 0));
    jobs.forEach((j, k) => {
      const m = merges[k]!;
      const r: PairResult = m.clean ? CLEAN : { clean: false, files: m.files };
      this.pairs.set(master, j.a, j.b, r);
      for (const slot of j.slots) out[slot] = r;
    });
    return out;
  }

  /** Commits of master + SHA (parents: master, SHA), written once per (SHA, master). */
  private async ensureMergedCommits(master: string, shas: readonly string[], facts: Map<string, ShaFacts>): Promise<void> {
    const need = shas.filter((s) => !facts.get(s)!.mergedCommit);
    if (need.length === 0) return;
    const ids = await Promise.all(need.map((sha) => this.repo.writeCommit({ tree: facts.get(sha)!.master!.tree, parents: [master, sha], author: CHECK_IDENT, committer: CHECK_IDENT, message: 'conflict check' })));
    need.forEach((sha, k) => (facts.get(sha)!.mergedCommit = ids[k]!));
  }
}

/** A submodule moved to a commit that is not (or cannot be shown to be) a fast-forward of master's. */
interface SubmoduleProblem {
  readonly path: string;
  readonly reason: string;
}
const NO_PROBLEMS: ReadonlyMap<string, readonly SubmoduleProblem[]> = new Map();

/** Enough of a SHA for people to find it (`git show` takes it). */
const abbrev = (sha: string) => sha.slice(0, 12);

/** A SHA's conflict with master: its merge's conflicted files and the submodule guard's findings, or null. */
function masterConflictOf(merged: MergeTreeResult, problems: readonly SubmoduleProblem[] | undefined): FoundConflict | null {
  if (merged.clean && !problems?.length) return null;
  const files = merged.clean ? [] : [...merged.files];
  for (const p of problems ?? []) if (!files.includes(p.path)) files.push(p.path);
  return problems?.length ? { with: 'master', files, reason: problems.map((p) => p.reason).join('; ') } : { with: 'master', files };
}

function overlaps(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const p of small) if (large.has(p)) return true;
  return false;
}
