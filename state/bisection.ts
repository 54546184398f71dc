// A push's bisection on the board (SPEC §6, issue 16): what is recorded of a search for the request that
// turns a build job red, and what the write path adds to a command because of it: a bisection started
// when a build job failed its retries, restarted on a new deploy branch, concluded (and the culprit
// removed) when a result settles it, and the candidate refs that come and go with it. Pure. Which
// candidate to test next is state/bisect.ts's one function; building candidates is the server's
// (server/pipeline/bisect-service.ts), recorded with TestBisectCandidates.
import { actorName, systemActor } from './actor.js';
import { canonical, candidateKey, culpritSpacing, flakesEnough, members, nextStep, progress, recentFlakes, verdictOf, type Candidate, type CulpritShare, type FlakeRecord, type Known, type SearchInput, type SearchStep, type Verdict } from './bisect.js';
import type { DomainEvent } from './events.js';
import { isPending, isRed, isUnrun, runAgain, unrunReason, type Job } from './jobs.js';
import { isOpenPush, jobsOfPush, MERGED_STATES, type Board, type MergedRequest, type Push, type PushId, type RequestId } from './model.js';
import type { RefIntent } from './ref-intents.js';
import { isoMillis, shortSha } from './text.js';
import { REQUEST_TRANSITIONS } from './transitions.js';

export interface BisectMember {
  readonly request: RequestId;
  readonly sha: string;
}

/** A candidate deploy branch: master plus some of the push's requests, built like the deploy branch. */
export interface BisectCandidate {
  /** 1, 2, … within the push; its ref is refs/heads/bisect/push-<push>/<id> while its bisection runs. */
  readonly id: number;
  readonly members: readonly BisectMember[];
  readonly base: string;
  /** The candidate's commit; null when it does not merge (then its one run is recorded as failed). */
  readonly sha: string | null;
  /** The runs of it, oldest first (a retest adds one). */
  readonly jobs: readonly string[];
  /** Its merge commits: the branch without the culprit, once green, becomes the push's deploy branch as it is. */
  readonly merges?: readonly MergedRequest[];
  /** The last lines of its last failed run's log, for the culprit's notice. */
  readonly tail?: string;
}

export const BISECTION_STATES = ['running', 'culprit', 'pair', 'master-red', 'green', 'cancelled'] as const;
export type BisectionState = (typeof BISECTION_STATES)[number];

export interface Bisection {
  /** The build job whose failure (after its retries) started it. */
  readonly job: string;
  /** The job being bisected (its name in the pipeline config). */
  readonly name: string;
  readonly state: BisectionState;
  /** Master's SHA the candidates are built on. */
  readonly base: string;
  /** The deploy branch's requests in merge order, as of the last (re)start. */
  readonly requests: readonly BisectMember[];
  readonly candidates: readonly BisectCandidate[];
  readonly nextCandidate: number;
  /** Suspects left after each result that narrowed the search: 40 → 20 → 10. */
  readonly sizes: readonly number[];
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly culprit?: RequestId;
  /** A pair: the earlier request the culprit breaks the job with (neither alone). */
  readonly partner?: RequestId;
  /** The run that showed it: the job, on which candidate. */
  readonly proof?: { readonly job: string; readonly candidate: number };
  /** Why it ended, in words (cancelled, green, master red). */
  readonly reason?: string;
}

/** What the domain needs of `pipeline:` for bisection. */
export interface BisectPolicy {
  readonly onFailure?: 'bisect' | 'stop';
  readonly autoRemove?: boolean;
}

const CAUSE = 'pipeline' as const;
export const BISECT_REF_PREFIX = 'refs/heads/bisect/';
export const candidateRef = (push: PushId, id: number): string => `${BISECT_REF_PREFIX}push-${push}/${id}`;

/** The branch a job's `{branch}` names: a bisection candidate's own ref, else the push's deploy branch. */
export function jobBranch(push: Push, job: Job): string {
  const cand = job.kind === 'bisect' ? push.bisection?.candidates.find((c) => c.jobs.includes(job.id)) : undefined;
  return cand ? candidateRef(push.id, cand.id) : push.deployBranch;
}

const sameMember = (a: BisectMember | undefined, b: BisectMember | undefined) => a !== undefined && b !== undefined && a.request === b.request && a.sha === b.sha;

/** Which candidate of the search `members` is against the request list, or null when it is none. */
export function candidateOf(list: readonly BisectMember[], m: readonly BisectMember[]): Candidate | null {
  let k = 0;
  while (k < m.length && sameMember(m[k], list[k])) k++;
  if (k === m.length) return { k };
  if (k === m.length - 1) {
    const plus = list.findIndex((x, i) => i > k && sameMember(x, m[k]));
    if (plus >= 0) return canonical({ k, plus });
  }
  // The list without one request (the one at k): {n, without: k}.
  if (m.length === list.length - 1 && m.slice(k).every((x, j) => sameMember(x, list[k + 1 + j]))) return canonical({ k: list.length, without: k });
  return null;
}

/** The members of a candidate of the search. */
export const membersOf = (list: readonly BisectMember[], c: Candidate): BisectMember[] => members(c).map((i) => list[i]!);

/** Runs of a job, counted into what the search knows. */
function count(into: Map<string, { passed: number; failed: number; pending: boolean }>, key: string, j: Job | undefined): void {
  if (!j) return;
  const k = into.get(key) ?? { passed: 0, failed: 0, pending: false };
  if (j.state === 'passed') k.passed++;
  else if (isRed(j)) k.failed++;
  else if (isPending(j.state)) k.pending = true;
  into.set(key, k);
}

/** What the search knows, from the candidates' runs and the build jobs on the deploy SHA (the whole branch). */
export function knownOf(push: Push, b: Bisection): (key: string) => Known | undefined {
  const jobs = new Map(jobsOfPush(push).map((j) => [j.id, j]));
  const out = new Map<string, { passed: number; failed: number; pending: boolean }>();
  for (const c of b.candidates) {
    if (c.base !== b.base) continue;
    const at = candidateOf(b.requests, c.members);
    if (at) for (const id of c.jobs) count(out, candidateKey(at), jobs.get(id));
  }
  const whole = sameBuild(push, b);
  if (whole) for (const j of jobsOfPush(push)) if (j.on === 'build' && j.name === b.name && j.sha === push.deploySha) count(out, `${b.requests.length}`, j);
  return (key) => out.get(key);
}

/** The search's candidate runs still queued or running: what ending it cancels. */
export function pendingRuns(push: Push, b: Bisection): Job[] {
  const runs = new Set(b.candidates.flatMap((c) => c.jobs));
  return jobsOfPush(push).filter((j) => runs.has(j.id) && isPending(j.state));
}

/** A run of the search's candidates that the runner could not run (notRun), if any. */
function unrunOf(push: Push, b: Bisection): Job | undefined {
  const runs = new Set(b.candidates.filter((c) => c.base === b.base).flatMap((c) => c.jobs));
  return jobsOfPush(push).find((j) => runs.has(j.id) && isUnrun(j));
}

/** Whether the push's deploy branch is the one the bisection searches (its requests, on its base). */
const sameBuild = (p: Push, b: Bisection): boolean => p.deploySha !== null && p.baseSha === b.base && p.merges.length === b.requests.length && p.merges.every((m, i) => sameMember(m, b.requests[i]));

/** The search's next step for a running bisection, with `capacity` runs it may start. */
export function bisectionStep(board: Board, push: Push, capacity: number): SearchStep | null {
  const b = push.bisection;
  if (!b || b.state !== 'running') return null;
  return nextStep({ n: b.requests.length, known: knownOf(push, b), capacity, ...jobHistory(board, b.name) });
}

/**
 * A job's record of flakes: its runs on trees (SHAs) that it passed at least once, and how many of those
 * failed, over its newest pushes until FLAKE_WINDOW runs (state/bisect.ts). Build jobs, their retries and
 * the searches' candidate runs all count. Newest first, it stops there: the board's whole history is not
 * read on every step of a search.
 */
export function flakeRecord(board: Board, name: string): FlakeRecord {
  const ids = Object.keys(board.pushes).map(Number).sort((a, b) => b - a);
  return recentFlakes((function* () {
    for (const id of ids) yield pushFlakes(board.pushes[id]!, name);
  })());
}

/** One push's runs of the job on trees it passed there, and their failures (a candidate's SHA is the push's own). */
function pushFlakes(p: Push, name: string): FlakeRecord {
  const bySha = new Map<string, { passed: number; failed: number }>();
  for (const j of jobsOfPush(p)) {
    if (j.name !== name || j.on !== 'build' || (j.state !== 'passed' && !isRed(j))) continue;
    const t = bySha.get(j.sha) ?? { passed: 0, failed: 0 };
    t[j.state === 'passed' ? 'passed' : 'failed']++;
    bySha.set(j.sha, t);
  }
  let runs = 0;
  let failed = 0;
  for (const t of bySha.values()) {
    if (t.passed === 0) continue;
    runs += t.passed + t.failed;
    failed += t.failed;
  }
  return { runs, failed };
}

/**
 * How often a request breaks the job: over the pushes that ran it, the requests they took (still in them,
 * or removed) and the culprits a search removed (the reason `breaks <job>: …`).
 */
export function culpritShare(board: Board, name: string): CulpritShare {
  let requests = 0;
  let culprits = 0;
  for (const p of Object.values(board.pushes)) {
    if (!jobsOfPush(p).some((j) => j.name === name && j.on === 'build')) continue;
    requests += p.merges.length + p.removals.length;
    culprits += p.removals.filter((r) => r.reason.startsWith(breaksPrefix(name))).length;
  }
  return { requests, culprits };
}

/** What the board says of the job for its next search: whether it flakes enough to guard a blame, and the stride of its culprits. */
const jobHistory = (board: Board, name: string): Pick<SearchInput, 'flaky' | 'spacing'> => ({ flaky: flakesEnough(flakeRecord(board, name)), spacing: culpritSpacing(culpritShare(board, name)) });

/** How a culprit's removal reason starts ("breaks test: job 3.9 failed on …"): culpritShare counts those. */
const breaksPrefix = (job: string): string => `breaks ${job}: `;

/** Runs of the bisection's candidates under way. */
export const runningCandidateJobs = (push: Push): number => {
  const b = push.bisection;
  if (!b || b.state !== 'running') return 0;
  const jobs = new Map(jobsOfPush(push).map((j) => [j.id, j]));
  return b.candidates.reduce((n, c) => n + c.jobs.filter((id) => { const j = jobs.get(id); return j !== undefined && isPending(j.state); }).length, 0);
};

/** How the branch without request `culprit` did in the search (the run before it was blamed), if it ran. */
export function restVerdict(push: Push, b: Bisection, culprit: RequestId): Verdict | null {
  const index = b.requests.findIndex((m) => m.request === culprit);
  return index < 0 ? null : (verdictOf(knownOf(push, b)(candidateKey({ k: b.requests.length, without: index }))) ?? null);
}

/**
 * The runs this search made: its candidates' bisect jobs, not a build of the push whose result a
 * candidate reused (same SHA), nor the runs of an earlier search whose results it kept.
 */
export function bisectionRuns(p: Push): number {
  const b = p.bisection;
  if (!b) return 0;
  const jobs = new Map(jobsOfPush(p).map((j) => [j.id, j]));
  const since = isoMillis(b.startedAt);
  let n = 0;
  for (const c of b.candidates)
    for (const id of c.jobs) {
      const j = jobs.get(id);
      if (j?.kind === 'bisect' && !(j.startedAt && isoMillis(j.startedAt) < since)) n++;
    }
  return n;
}

/** A build job's failure that its retries have used up: the push's current build is red. */
function redBuild(after: Board, e: DomainEvent): { push: Push; job: Job } | null {
  if (e.type !== 'JobFinished' || e.state !== 'failed') return null;
  const p = after.pushes[e.push];
  const job = p?.jobs?.find((j) => j.id === e.job);
  // A job the runner could not run (notRun) says nothing of the tree: a search on it would conclude that master fails.
  if (!p || !job || job.on !== 'build' || job.kind === 'bisect' || !isRed(job) || !isOpenPush(p) || p.deploySha !== job.sha) return null;
  return runAgain(jobsOfPush(p), job) ? null : { push: p, job };
}

/** Candidates of an earlier bisection that still are prefixes of the new list: their results hold. */
function stillPrefixes(old: Bisection | undefined, base: string, list: readonly BisectMember[]): BisectCandidate[] {
  if (!old) return [];
  return old.candidates.filter((c) => c.base === base && c.sha !== null && c.members.length < list.length && c.members.every((m, i) => sameMember(m, list[i])));
}

const describeMembers = (m: readonly BisectMember[]): string => (m.length === 0 ? 'master alone' : `master + ${m.length === 1 ? 'request' : 'requests'} ${m.map((x) => `#${x.request}`).join(', ')}`);

/**
 * What a candidate holds, short enough for a job's row in a dashboard column: "master + #1 … #6 (6)" (the
 * first six requests), "#5 alone", "all but #5", "master + #1, #2 + #5". A pushmaster reading the runs of
 * a search sees which part each one tested without opening the board.
 */
export function describeCandidate(list: readonly BisectMember[], m: readonly BisectMember[]): string {
  if (m.length === 0) return 'master alone';
  const c = candidateOf(list, m);
  const id = (i: number) => `#${list[i]!.request}`;
  // Requests are in merge order, not by id: "#1 … #8 (7)" counts them, so a range never reads as every id between.
  const span = (from: number, to: number) => (to === from ? id(from) : to === from + 1 ? `${id(from)}, ${id(to)}` : `${id(from)} … ${id(to)} (${to - from + 1})`);
  if (c && c.without !== undefined) return `all but ${id(c.without)}`;
  if (c && c.plus !== undefined) return c.k === 0 ? `${id(c.plus)} alone` : `master + ${span(0, c.k - 1)} + ${id(c.plus)}`;
  if (c) return `master + ${span(0, c.k - 1)}`;
  return m.length <= 4 ? `master + ${m.map((x) => `#${x.request}`).join(', ')}` : `master + ${m.length} requests (#${m[0]!.request} … #${m[m.length - 1]!.request})`;
}

/** Job id → what its candidate holds, for the runs of the push's search (`StatusJob.candidate`). */
export function candidateLabels(p: Push): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  const bisect = new Set(jobsOfPush(p).filter((j) => j.kind === 'bisect').map((j) => j.id));
  for (const c of p.bisection?.candidates ?? []) {
    const label = describeCandidate(p.bisection!.requests, c.members);
    for (const j of c.jobs) if (bisect.has(j)) out.set(j, label);
  }
  return out;
}

/** The conclusion a settled search comes to, as events (and the culprit's removal when autoRemove). */
function conclude(after: Board, p: Push, step: SearchStep, policy: BisectPolicy | undefined, at: string): DomainEvent[] {
  const b = p.bisection!;
  const actor = actorName(systemActor(CAUSE));
  const base = { at, actor, cause: CAUSE, push: p.id } as const;
  if (step.type === 'green') return [{ ...base, type: 'BisectionConcluded', outcome: 'green', reason: `the build of ${shortSha(p.deploySha ?? '')} passed` }];
  if (step.type === 'master-red') {
    const proof = proofOf(p, b, { k: 0 });
    return [{ ...base, type: 'BisectionConcluded', outcome: 'master-red', reason: 'master alone fails the job: no request is to blame', ...(proof && { proof }) }];
  }
  if (step.type !== 'culprit' && step.type !== 'pair') return [];
  const culprit = b.requests[step.index]!.request;
  const partner = step.type === 'pair' ? b.requests[step.partner]!.request : undefined;
  const shown: Candidate = step.type === 'pair' ? { k: step.partner + 1, plus: step.index } : step.index === 0 ? { k: 1 } : { k: 0, plus: step.index };
  const proof = proofOf(p, b, shown);
  const cand = proof ? b.candidates.find((c) => c.id === proof.candidate) : undefined;
  const where = cand ? `candidate ${cand.sha ? shortSha(cand.sha) : `#${cand.id}`} (${describeMembers(cand.members)})` : 'a candidate';
  const reason = `${breaksPrefix(b.name)}${culpritEvidence(proof?.job ?? b.job, where, partner)}`;
  const out: DomainEvent[] = [{ ...base, type: 'BisectionConcluded', outcome: step.type, culprit, ...(partner !== undefined && { partner }), ...(proof && { proof }), reason }];
  const r = after.requests[culprit];
  if (policy?.autoRemove !== false && r && r.push === p.id && MERGED_STATES.includes(r.state)) {
    out.push({ ...base, type: 'RequestRemoved', request: culprit, reason, fromState: r.state, toState: REQUEST_TRANSITIONS.remove.to });
    // The branch without it ran: it becomes the deploy branch as it is (it is what a rebuild without the
    // culprit would make). Green, it is already tested: no rebuild, no run more. Red (a second red request
    // further on), its failed run counts as the build's first and only the retry runs (job-queue.ts).
    const rest = step.rest !== null ? restCandidate(b, step.index) : undefined;
    if (rest?.sha && rest.merges) out.push({ ...base, cause: 'deploy-build', type: 'DeployBranchBuilt', deploySha: rest.sha, baseSha: rest.base, merges: rest.merges });
  }
  return out;
}

/** "job 3.9 failed on candidate 1a2b3c4 (master + request #12)": what shows it, after "breaks <job>: ". */
const culpritEvidence = (job: string, where: string, partner: RequestId | undefined): string => `job ${job} failed on ${where}${partner !== undefined ? `, only together with request #${partner}` : ''}`;

/** The recorded candidate that is `c` of the search's request list (on its base), if it was built. */
function recorded(b: Bisection, c: Candidate): BisectCandidate | undefined {
  const key = candidateKey(c);
  return b.candidates.find((x) => {
    const at = x.base === b.base ? candidateOf(b.requests, x.members) : null;
    return at !== null && candidateKey(at) === key;
  });
}

/** A recorded candidate with exactly these members on this base (what a new run of it reuses). */
export function findCandidate(b: Bisection, members: readonly BisectMember[], base: string): BisectCandidate | undefined {
  return b.candidates.find((x) => x.base === base && x.members.length === members.length && x.members.every((m, i) => sameMember(m, members[i])));
}

/** The candidate that is the whole branch without request `index`, when it was built. */
const restCandidate = (b: Bisection, index: number): BisectCandidate | undefined => recorded(b, { k: b.requests.length, without: index });

/** The failed run of the candidate that shows the result, if there is one. */
function proofOf(p: Push, b: Bisection, shown: Candidate): { job: string; candidate: number } | undefined {
  const c = recorded(b, shown);
  const jobs = new Map(jobsOfPush(p).map((j) => [j.id, j]));
  const failed = c && [...c.jobs].reverse().find((id) => jobs.get(id)?.state === 'failed');
  return c && failed ? { job: failed, candidate: c.id } : undefined;
}

/** The pushes a command's events name. */
export function touchedPushes(events: readonly DomainEvent[]): Set<PushId> {
  const out = new Set<PushId>();
  for (const e of events) if ('push' in e && typeof e.push === 'number') out.add(e.push as PushId);
  return out;
}

/**
 * What the write path adds for bisections after a command's events: a search started when a build job
 * failed its retries (onFailure: bisect), restarted on a new deploy branch, narrowed, concluded when the
 * results settle it (the culprit removed with autoRemove), cancelled when its push ends.
 */
export function bisectionEvents(before: Board, after: Board, events: readonly DomainEvent[], policy: BisectPolicy | undefined, at: string): DomainEvent[] {
  if (!policy || (policy.onFailure ?? 'bisect') !== 'bisect') return []; // no pipeline (the push path of most servers), or stop
  const actor = actorName(systemActor(CAUSE));
  const touched = touchedPushes(events);
  const out: DomainEvent[] = [];
  for (const e of events) {
    const red = redBuild(after, e);
    if (!red) continue;
    const { push: p, job } = red;
    if (p.bisection?.state === 'running' || p.merges.length === 0 || p.baseSha === null) continue;
    const requests = p.merges.map((m) => ({ request: m.request, sha: m.sha }));
    const inherited = stillPrefixes(p.bisection, p.baseSha, requests);
    out.push({ at, actor, cause: CAUSE, type: 'BisectionStarted', push: p.id, job: job.id, name: job.name, base: p.baseSha, requests, inherited });
  }
  for (const id of touched) {
    const p = after.pushes[id];
    const b = p?.bisection;
    if (!p || !b || b.state !== 'running' || out.some((e) => e.type === 'BisectionStarted' && e.push === id)) continue;
    if (!isOpenPush(p)) {
      out.push({ at, actor, cause: CAUSE, type: 'BisectionConcluded', push: id, outcome: 'cancelled', reason: `push ${id} is ${p.state}` });
      continue;
    }
    if (before.pushes[id]?.deploySha !== p.deploySha && p.deploySha !== null && !sameBuild(p, b)) {
      // A new accept, remove or re-push built a new deploy branch: the search goes on there.
      const requests = p.merges.map((m) => ({ request: m.request, sha: m.sha }));
      if (requests.length === 0 || p.baseSha === null) out.push({ at, actor, cause: CAUSE, type: 'BisectionConcluded', push: id, outcome: 'cancelled', reason: `push ${id} holds no request any more` });
      else out.push({ at, actor, cause: CAUSE, type: 'BisectionRebased', push: id, base: p.baseSha, requests, kept: stillPrefixes(b, p.baseSha, requests).map((c) => c.id) });
    }
  }
  return out;
}

/** After bisectionEvents are applied: the narrowing and the conclusions the results now settle. */
export function bisectionFollowEvents(after: Board, events: readonly DomainEvent[], policy: BisectPolicy | undefined, at: string): DomainEvent[] {
  if (!policy || (policy.onFailure ?? 'bisect') !== 'bisect') return []; // no pipeline (the push path of most servers), or stop
  const actor = actorName(systemActor(CAUSE));
  const touched = touchedPushes(events);
  const out: DomainEvent[] = [];
  for (const id of touched) {
    const p = after.pushes[id];
    const b = p?.bisection;
    if (!p || !b || b.state !== 'running') continue;
    // A run the runner could not run (a builder gone from the master, no checkout) tells nothing, and the
    // same run again would be refused the same way: the search stops there instead of asking for it again.
    const unrun = unrunOf(p, b);
    if (unrun) {
      for (const j of pendingRuns(p, b)) out.push({ at, actor, cause: CAUSE, type: 'JobFinished', push: id, job: j.id, name: j.name, sha: j.sha, state: 'cancelled', reason: 'its bisection ended' });
      out.push({ at, actor, cause: CAUSE, type: 'BisectionConcluded', push: id, outcome: 'cancelled', reason: `job ${unrun.id} could not run (${unrunReason(unrun)})` });
      continue;
    }
    const known = knownOf(p, b);
    const step = nextStep({ n: b.requests.length, known, capacity: 0, ...jobHistory(after, b.name) });
    const settled = conclude(after, p, step, policy, at);
    if (settled.length) {
      // Runs still under way (more than one at a time) have nothing left to tell.
      for (const j of pendingRuns(p, b)) out.push({ at, actor, cause: CAUSE, type: 'JobFinished', push: id, job: j.id, name: j.name, sha: j.sha, state: 'cancelled', reason: 'its bisection ended' });
      out.push(...settled);
      continue;
    }
    const { suspects } = progress({ n: b.requests.length, known });
    if (suspects !== b.sizes.at(-1)) out.push({ at, actor, cause: CAUSE, type: 'BisectionNarrowed', push: id, suspects });
  }
  return out;
}

/** Candidate refs exist while their bisection runs: created with a candidate, removed when it ends or restarts without it. */
export function bisectRefIntents(before: Board, after: Board): RefIntent[] {
  const out: RefIntent[] = [];
  const live = (p: Push | undefined) => new Map((p?.bisection?.state === 'running' ? p.bisection.candidates : []).filter((c) => c.sha !== null).map((c) => [c.id, c.sha!]));
  for (const p of Object.values(after.pushes)) {
    const was = before.pushes[p.id];
    if (was === p) continue;
    const old = live(was);
    const now = live(p);
    for (const [id, sha] of now) if (old.get(id) !== sha) out.push({ ref: candidateRef(p.id, id), newSha: sha, ...(old.has(id) ? { oldSha: old.get(id)! } : { oldSha: null }) });
    for (const [id, sha] of old) if (!now.has(id)) out.push({ ref: candidateRef(p.id, id), newSha: null, oldSha: sha });
  }
  return out;
}

/**
 * "; about 4 more runs of ~9 min": what a pushmaster waiting for the search wants to know. Halving s
 * suspects takes ⌈log2 s⌉ runs and naming one a run alone; each at the median time of this job's newest
 * five finished runs on the push (its build and retry ran before any search). A flaky job adds runs that confirm: "about".
 */
const RECENT_RUNS = 5;
function runsLeft(p: Push, b: Bisection, suspects: number): string {
  const runs = Math.ceil(Math.log2(Math.max(1, suspects))) + 1;
  // The newest five runs: a push's first builds may have run on a quieter runner (or a cache) than its search.
  const times = (p.jobs ?? [])
    .filter((j) => j.name === b.name && j.on === 'build' && (j.state === 'passed' || isRed(j)) && j.startedAt && j.finishedAt)
    .slice(-RECENT_RUNS)
    .map((j) => isoMillis(j.finishedAt!) - isoMillis(j.startedAt!))
    .filter((ms) => Number.isFinite(ms) && ms >= 0)
    .sort((x, y) => x - y);
  const median = times.length ? times[Math.floor((times.length - 1) / 2)]! : 0;
  const each = median >= 90_000 ? ` of ~${Math.round(median / 60_000)} min` : median >= 1_000 ? ` of ~${Math.round(median / 1000)} s` : '';
  return `; about ${runs} more run${runs === 1 ? '' : 's'}${each}`;
}

/** "bisecting push 3: 40 → 20 → 10 requests, 3 runs", or what it found. */
export function describeBisection(p: Push): string | null {
  const b = p.bisection;
  if (!b) return null;
  const runs = bisectionRuns(p);
  const nRuns = `${runs} run${runs === 1 ? '' : 's'}`;
  const plural = (n: number | undefined) => `request${n === 1 ? '' : 's'}`;
  // Sizes go up where the partner search starts (10 → 5 → 2 → 1, then 6 → 3 earlier requests): say so.
  const turn = b.sizes.findIndex((x, i) => i > 0 && x > b.sizes[i - 1]!);
  const narrowing =
    turn < 0
      ? `${b.sizes.join(' → ')} ${plural(b.sizes.at(-1))}, ${nRuns}`
      : `${b.sizes.slice(0, turn).join(' → ')} ${plural(b.sizes[turn - 1])}, then its partner among ${b.sizes.slice(turn).join(' → ')} earlier ${plural(b.sizes.at(-1))}, ${nRuns}`;
  const name = b.name;
  // What became of a named request: the board says whether it is still in the push (autoRemove: false,
  // or not yet) and then what the pushmaster runs, or who removed it.
  const fate = (r: RequestId | undefined, verb: string): string => {
    if (r === undefined) return '';
    const gone = [...p.removals].reverse().find((x) => x.request === r);
    const merged = p.merges.find((m) => m.request === r);
    if (merged) {
      if (!isOpenPush(p)) return '';
      // Removed and accepted again since: say so, and whether it changed (a fix) or is as it was blamed.
      if (gone && b.finishedAt && isoMillis(gone.at) >= isoMillis(b.finishedAt)) {
        const blamed = b.requests.find((m) => m.request === r)?.sha;
        return `; #${r} was removed, and is back in the push${merged.sha === blamed ? `, unchanged since it was blamed` : ` at ${shortSha(merged.sha)}, re-pushed since`}`;
      }
      return `; #${r} is still in the push: ${verb} pushmanager push remove ${p.id} ${r} --reason "breaks ${name}"`;
    }
    return gone ? `; ${b.partner !== undefined ? `#${r} ` : ''}removed from the push${gone.reason === b.reason ? '' : ` by ${gone.by}`}${b.partner !== undefined ? `, #${b.partner} stays` : ''}` : '';
  };
  switch (b.state) {
    case 'running': {
      // Narrowed to one request, the runs go on while it is confirmed (a job that flakes) or its partner
      // is looked for: say which request, so a pushmaster watching "1 request, 9 runs" knows why.
      const now = progress({ n: b.requests.length, known: knownOf(p, b) });
      const suspect = now.suspect === undefined ? undefined : b.requests[now.suspect]?.request;
      const why = suspect === undefined ? '' : now.phase === 'confirm' ? `; narrowed to request #${suspect}, confirming before anyone is blamed` : `; request #${suspect} passed alone: a flake, or it fails only with an earlier request`;
      const left = now.phase === 'confirm' ? '' : runsLeft(p, b, now.suspects);
      return `bisecting push ${p.id} (${b.name}): ${narrowing}${why}${left}`;
    }
    case 'culprit':
      // The reason starts "breaks test: " for the request's history; here "(test)" has said so.
      return `bisection of push ${p.id} (${name}) found request #${b.culprit} in ${nRuns}${b.reason ? `: ${b.reason.replace(breaksPrefix(name), '')}` : ''}${fate(b.culprit, 'to remove it,')}`;
    case 'pair':
      return `bisection of push ${p.id} (${name}) found requests #${b.culprit} and #${b.partner}, red only together, in ${nRuns}${fate(b.culprit, 'to remove the later one,')}`;
    case 'master-red':
      return `bisection of push ${p.id} (${b.name}): master itself fails ${b.name}; no request is to blame`;
    case 'green':
      return `bisection of push ${p.id} (${b.name}) stopped: ${b.reason ?? 'the build passes'}`;
    case 'cancelled': {
      // "cancelled by pm" is the reason a pushmaster's cancel records; say where the search had got to, and
      // how to run it again (the failed build's retry searches again if it fails), while the push is open.
      const why = b.reason ? (b.reason.startsWith('cancelled ') ? ` ${b.reason.slice('cancelled '.length)}` : `: ${b.reason}`) : '';
      const again = isOpenPush(p) && p.jobs?.some((j) => j.id === b.job && j.sha === p.deploySha) ? `; the gate stays red: pushmanager job retry ${b.job} runs the build again, and searches again if it fails` : '';
      return `bisection of push ${p.id} (${name}) cancelled${why} after ${narrowing}${again}`;
    }
  }
}
