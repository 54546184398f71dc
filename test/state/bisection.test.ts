// A push's bisection through the write path (state/bisection.ts via plan), pure: a build job that fails
// its retries starts the search; candidates recorded by the server queue bisect jobs and get refs of their
// own; results narrow it and settle it (the culprit removed with autoRemove, only named without it); a
// new deploy branch restarts it keeping the prefixes it still has; a cancel or a discarded push ends it
// and removes its refs; onFailure stop starts none.
import { describe, expect, it } from 'vitest';
import { replay } from '../helpers/replay.js';
import type { BisectCandidateBuilt, Command } from '../../state/commands.js';
import { systemActor, userActor, type Actor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import type { PipelineJobs } from '../../state/job-queue.js';
import type { Job } from '../../state/jobs.js';
import { wantedMerges, type Board, type PushId, type RequestId } from '../../state/model.js';
import { bisectionRuns, bisectionStep, culpritShare, describeBisection, describeCandidate, flakeRecord, runningCandidateJobs } from '../../state/bisection.js';
import { flakesEnough } from '../../state/bisect.js';
import { pushView } from '../../state/status-view.js';
import { answerSentence, commandOutcome, commandSubject } from '../../state/describe.js';
import { plan } from '../../state/plan.js';
import type { RefIntent } from '../../state/ref-intents.js';

const PM = userActor('pm', { pushmaster: true });
const ALICE = userActor('alice');
const P1 = 1 as PushId;
const sha = (c: string) => c.repeat(40).slice(0, 40);
const JOBS: PipelineJobs = { runner: 'local', jobs: [{ name: 'test', on: 'build' }], retries: 1, onFailure: 'bisect', autoRemove: true };
const at = '2026-01-01T01:00:00.000Z';

interface Step {
  readonly board: Board;
  readonly events: readonly DomainEvent[];
  readonly refs: readonly RefIntent[];
}
let t = 0;
function ok(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs = JOBS): Step {
  const out = plan(b, cmd, { actor: who, now: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(), pipeline });
  if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.code} ${out.message}`);
  if (out.kind !== 'planned') throw new Error(`${cmd.type} needs builds`);
  return out;
}
const report = (b: Board, job: string, state: 'passed' | 'failed', pipeline: PipelineJobs = JOBS): Step => {
  const s = ok(b, { type: 'RecordJob', job, change: { type: 'started', at } }, systemActor('pipeline'), pipeline);
  return ok(s.board, { type: 'RecordJob', job, change: state === 'passed' ? { type: 'passed', at, exitCode: 0 } : { type: 'failed', at, exitCode: 3, tail: 'BREAKS present' } }, systemActor('pipeline'), pipeline);
};

/** A command that rebuilds the push, planned with the build it asks for made (deploy SHA 7…). */
function rebuilt(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs = JOBS): Board {
  const ctx = { actor: who, now: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(), pipeline };
  const asked = plan(b, cmd, ctx);
  if (isDomainError(asked) || asked.kind !== 'needs-builds') throw new Error(`${cmd.type} rebuilds the push`);
  const builds = asked.builds.map((n) => ({ push: n.push.id, mode: n.mode, epoch: n.epoch, inputs: n.requests.map((r) => ({ request: r.id, sha: r.sha })), baseSha: sha('f'), outcome: { ok: true as const, deploySha: sha('7'), merges: n.requests.map((r, i) => ({ request: r.id, sha: r.sha, commit: sha(String(i)) })), dropped: [] } }));
  const done = plan(b, cmd, ctx, { builds });
  if (isDomainError(done) || done.kind !== 'planned') throw new Error(`${cmd.type} is planned once built`);
  return done.board;
}

/** Push 1 with n of alice's requests accepted and built (deploy SHA d…), its build job 1.1 queued. */
function built(n: number, pipeline: PipelineJobs = JOBS): Board {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const b = replay(
    [
      [{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM],
      ...ids.map((i) => [{ type: 'OpenRequest', ref: `refs/pushreq/r${i}`, sha: sha(i < 10 ? String(i) : `c${i}`), autoPickme: true, title: `r${i}` }, ALICE] as const),
      [{ type: 'AcceptRequests', push: P1, requests: ids.map((i) => i as RequestId) }, PM],
    ],
    () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(),
  );
  const merges = wantedMerges(b, P1).map((w, i) => ({ ...w, commit: sha(String.fromCharCode(97 + i)) }));
  return ok(b, { type: 'RecordBuild', push: P1, deploySha: sha('d'), baseSha: sha('f'), merges, dropped: [] }, systemActor('deploy-build'), pipeline).board;
}
/** The build failed, and its retry too: the search runs. */
const red = (n: number, pipeline: PipelineJobs = JOBS) => report(report(built(n, pipeline), '1.1', 'failed', pipeline).board, '1.2', 'failed', pipeline);
const members = (b: Board, ids: readonly number[]) => ids.map((id) => ({ request: id as RequestId, sha: b.requests[id]!.sha }));
/** Candidates as the server builds them: one SHA per set of requests (a set built before keeps its SHA). */
function candidates(b: Board, sets: readonly (readonly number[])[]): BisectCandidateBuilt[] {
  const built = b.pushes[P1]?.bisection?.candidates ?? [];
  let next = built.length;
  return sets.map((ids) => {
    const m = members(b, ids);
    const before = built.find((c) => c.members.length === m.length && c.members.every((x, i) => x.request === m[i]!.request));
    return { members: m, base: sha('f'), sha: before?.sha ?? sha(`a${next++}`) };
  });
}
const test = (b: Board, sets: readonly (readonly number[])[], pipeline: PipelineJobs = JOBS) =>
  ok(b, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: candidates(b, sets) }, systemActor('pipeline'), pipeline);
const lastJob = (b: Board) => b.pushes[P1]!.jobs!.at(-1)!.id;
/** The board with a finished push 2 whose test job once passed only on its retry: the job is known to flake. */
function withFlakeHistory(b: Board): Board {
  const p = b.pushes[P1]!;
  const failed = { ...p.jobs![0]!, id: '2.1', push: 2, kind: 'build' as const, attempt: 1, state: 'failed' as const, sha: sha('9') };
  const flaked = { ...failed, id: '2.2', kind: 'retry' as const, attempt: 2, state: 'passed' as const, flaky: true };
  return { ...b, pushes: { ...b.pushes, [2]: { ...p, id: 2 as PushId, state: 'live', deployBranch: 'refs/heads/deploy/push-2', jobs: [failed, flaked] } } };
}

/** The board with a finished push 2 whose test job ran `clean` times on trees it passed, `flakes` of them failures first. */
function withRuns(b: Board, clean: number, flakes: number): Board {
  const p = b.pushes[P1]!;
  const base = { ...p.jobs![0]!, push: 2, kind: 'build' as const, attempt: 1 };
  const jobs = Array.from({ length: clean - flakes }, (_, i) => i).flatMap((i): Job[] => {
    const tree = sha(`b${i}`);
    if (i >= flakes) return [{ ...base, id: `2.${2 * i + 1}`, sha: tree, state: 'passed' as const }];
    return [
      { ...base, id: `2.${2 * i + 1}`, sha: tree, state: 'failed' as const },
      { ...base, id: `2.${2 * i + 2}`, sha: tree, kind: 'retry' as const, attempt: 2, state: 'passed' as const, flaky: true },
    ];
  });
  return { ...b, pushes: { ...b.pushes, [2]: { ...p, id: 2 as PushId, state: 'live', deployBranch: 'refs/heads/deploy/push-2', jobs } } };
}

describe('what a candidate holds, on its run\'s row', () => {
  const list = [11, 12, 13, 14, 15, 16, 17, 18].map((r) => ({ request: r as RequestId, sha: sha(String(r % 10)) }));
  const of = (idx: readonly number[]) => idx.map((i) => list[i]!);
  it.each([
    [[], 'master alone'],
    [[0], 'master + #11'],
    [[0, 1], 'master + #11, #12'],
    [[0, 1, 2, 3], 'master + #11 … #14 (4)'],
    [[4], '#15 alone'],
    [[0, 4], 'master + #11 + #15'],
    [[0, 1, 2, 4], 'master + #11 … #13 (3) + #15'],
    [[0, 1, 2, 3, 5, 6, 7], 'all but #15'],
    [[1, 2, 3, 4, 5, 6, 7], 'all but #11'],
    [[1, 3], 'master + #12, #14'],
    [[1, 3, 5, 6, 7], 'master + 5 requests (#12 … #18)'],
  ] as const)('%j → %s', (idx, text) => {
    expect(describeCandidate(list, of(idx))).toBe(text);
  });
  it('the history (the metadata commit\'s subject) says what each candidate held and its SHA', () => {
    const b = red(8).board;
    const cmd: Command = { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: candidates(b, [[1, 2, 3, 4, 5, 6], [6]]) };
    expect(commandSubject(cmd, [])).toBe('Bisect push 1 (job 1.2): test master + 6 requests #1 … #6 at a0a0a0a0a0; master + #6 at a1a1a1a1a1');
  });

  it('a run of the search carries its candidate in the push\'s jobs; the build and its retry carry none', () => {
    let b = test(red(4).board, [[1, 2]]).board;
    const jobs = pushView(b, b.pushes[P1]!).jobs!;
    expect(jobs.map((j) => [j.kind, j.candidate])).toEqual([
      ['build', undefined],
      ['retry', undefined],
      ['bisect', 'master + #1, #2'],
    ]);
    b = report(b, lastJob(b), 'passed').board;
    b = test(b, [[3]]).board;
    expect(pushView(b, b.pushes[P1]!).jobs!.at(-1)!.candidate).toBe('#3 alone');
    // Recorded on the run itself: a later search of the push (which keeps only its own candidates) leaves it.
    const later = { ...b.pushes[P1]!, bisection: undefined };
    expect(pushView(b, later).jobs!.filter((j) => j.kind === 'bisect').map((j) => j.candidate)).toEqual(['master + #1, #2', '#3 alone']);
  });
});

describe('a job\'s flake record', () => {
  it('counts its runs on trees it passed, on any push, and their failures; red trees, other jobs and other phases do not count', () => {
    const b = withRuns(red(4).board, 10, 2);
    expect(flakeRecord(b, 'test')).toEqual({ runs: 10, failed: 2 });
    // Push 1's build and retry failed on sha d: not known to be green, so not counted.
    expect(flakeRecord(red(4).board, 'test')).toEqual({ runs: 0, failed: 0 });
    expect(flakeRecord(b, 'lint')).toEqual({ runs: 0, failed: 0 });
    const stage = { ...b.pushes[2]!, jobs: b.pushes[2]!.jobs!.map((j) => ({ ...j, on: 'stage' as const })) };
    expect(flakeRecord({ ...b, pushes: { ...b.pushes, [2]: stage } }, 'test')).toEqual({ runs: 0, failed: 0 });
  });

  it('a job measured to flake rarely (1 in 150 runs) is trusted on one run, as one that never flaked; 1 in 20, it is not', () => {
    const search = (b: Board) => {
      b = test(b, [[1, 2]]).board;
      b = report(b, lastJob(b), 'passed').board;
      b = test(b, [[1, 2, 3]]).board;
      b = report(b, lastJob(b), 'failed').board;
      b = test(b, [[3]]).board;
      return report(b, lastJob(b), 'failed').board.pushes[P1]!.bisection!;
    };
    expect(search(withRuns(red(4).board, 150, 1))).toMatchObject({ state: 'culprit', culprit: 3 });
    // Guarded: the branch without request 3 runs before it is blamed.
    expect(search(withRuns(red(4).board, 20, 1)).state).toBe('running');
    expect(search(withRuns(red(4).board, 150, 8)).state).toBe('running');
  });

  it('reads the newest pushes: a job clean for 1,500 runs that flaked 4 times in its newest 100 is guarded (over all of them, 0.25%, it was trusted)', () => {
    const b = red(4).board;
    const clean = withRuns(b, 1500, 0).pushes[2]!;
    const flaky = { ...withRuns(b, 100, 4).pushes[2]!, id: 3 as PushId, deployBranch: 'refs/heads/deploy/push-3' };
    const board: Board = { ...b, pushes: { ...b.pushes, [2]: clean, [3]: { ...flaky, jobs: flaky.jobs!.map((j) => ({ ...j, id: j.id.replace(/^2\./, '3.'), push: 3, sha: `f${j.sha.slice(1)}` })) } } };
    const record = flakeRecord(board, 'test');
    expect(record).toEqual({ runs: 1600, failed: 4, recent: { runs: 100, failed: 4 } });
    expect(flakesEnough(record)).toBe(true);
    // The same runs with the flaky push the older one: its flakes are history, diluted; trusted.
    const older: Board = { ...board, pushes: { ...board.pushes, [2]: { ...board.pushes[3]!, id: 2 as PushId }, [3]: { ...clean, id: 3 as PushId } } };
    expect(flakesEnough(flakeRecord(older, 'test'))).toBe(false);
  });
});

describe('the share of culprits', () => {
  it('counts the requests of pushes that ran the job (still in them or removed) and the culprits a search removed', () => {
    const b = red(4).board;
    const p = b.pushes[P1]!;
    const removal = { request: 9 as RequestId, by: 'pipeline', fromState: 'added' as const, at };
    const removals = [{ ...removal, reason: 'breaks test: job 1.9 failed on candidate 1a2b3c4 (master + request #9)' }, { ...removal, request: 8 as RequestId, reason: 'not ready', by: 'pm' }];
    const other = { ...p, id: 2 as PushId, jobs: [], removals: [{ ...removal, reason: 'breaks test: …' }] };
    const board: Board = { ...b, pushes: { ...b.pushes, [P1]: { ...p, removals }, [2]: other } };
    // Push 1: 4 requests in it and 2 removed, one by a search; push 2 never ran the job.
    expect(culpritShare(board, 'test')).toEqual({ requests: 6, culprits: 1 });
    expect(culpritShare(board, 'lint')).toEqual({ requests: 0, culprits: 0 });
  });

  it('once measured, sets the stride of the next search: a long gap is probed near one stride up, not in the middle', () => {
    const b = red(80).board;
    const p = b.pushes[P1]!;
    expect(bisectionStep(b, p, 1)).toEqual({ type: 'test', candidates: [{ k: 40 }] });
    // An earlier push of 200 requests, 6 of them removed as culprits: about 2% (with push 1's 80), a stride of 32.
    const removal = { by: 'pipeline', fromState: 'added' as const, at };
    const removals = Array.from({ length: 200 }, (_, i) => ({ ...removal, request: (1000 + i) as RequestId, reason: i < 6 ? `breaks test: job 2.${i} failed on candidate 1a2b3c4` : 'not ready' }));
    const history: Board = { ...b, pushes: { ...b.pushes, [2]: { ...p, id: 2 as PushId, merges: [], removals } } };
    expect(bisectionStep(history, history.pushes[P1]!, 1)).toEqual({ type: 'test', candidates: [{ k: 32 }] });
  });
});

describe('bisection in the write path', () => {
  it('a build job that failed its retry starts a search over the deploy branch\'s requests; onFailure stop starts none', () => {
    const s = red(4);
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: '1.2', name: 'test', base: sha('f'), sizes: [4] });
    expect(s.board.pushes[P1]!.bisection!.requests.map((m) => m.request)).toEqual([1, 2, 3, 4]);
    expect(red(4, { ...JOBS, onFailure: 'stop' }).board.pushes[P1]!.bisection).toBeUndefined();
    // The first failure alone is retried, not bisected.
    expect(report(built(4), '1.1', 'failed').board.pushes[P1]!.bisection).toBeUndefined();
  });

  it('candidates queue bisect jobs on their SHAs and get refs of their own; a known candidate under way is not queued twice', () => {
    const s = test(red(4).board, [[1, 2]]);
    const job = s.board.pushes[P1]!.jobs!.at(-1)!;
    expect(job).toMatchObject({ kind: 'bisect', name: 'test', on: 'build', sha: sha('a0'), state: 'queued' });
    expect(s.board.pushes[P1]!.bisection!.candidates).toEqual([{ id: 1, members: members(s.board, [1, 2]), base: sha('f'), sha: sha('a0'), jobs: [job.id] }]);
    expect(s.refs).toContainEqual({ ref: 'refs/heads/bisect/push-1/1', newSha: sha('a0'), oldSha: null });
    expect(test(s.board, [[1, 2]]).events).toEqual([]);
  });

  it('with room for two runs (bisectParallel: 2) the search asks for two candidates at once, and none more while both run', () => {
    const b = red(8).board;
    const step = bisectionStep(b, b.pushes[P1]!, 2);
    expect(step).toEqual({ type: 'test', candidates: [{ k: 4 }, { k: 2 }] });
    const both = test(b, [[1, 2, 3, 4], [1, 2]]).board;
    expect(runningCandidateJobs(both.pushes[P1]!)).toBe(2);
    expect(bisectionStep(both, both.pushes[P1]!, 2 - runningCandidateJobs(both.pushes[P1]!))).toEqual({ type: 'wait', for: 'room' });
  });

  it('a candidate whose tree already ran the job on the push (an earlier deploy branch) takes that result: no run, and none counted', () => {
    const b = red(4).board;
    // An earlier deploy branch of push 1 held requests 1 and 2 and passed the job: job 1.0 on SHA 7….
    const before: Job = { ...b.pushes[P1]!.jobs![0]!, id: '1.0', sha: sha('7'), state: 'passed' };
    const board: Board = { ...b, pushes: { ...b.pushes, [P1]: { ...b.pushes[P1]!, jobs: [before, ...b.pushes[P1]!.jobs!] } } };
    const cand = { ...candidates(board, [[1, 2]])[0]!, sha: sha('7') };
    const s = ok(board, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: [cand] }, systemActor('pipeline'));
    expect(s.events.map((e) => e.type)).toEqual(['BisectCandidateTested', 'BisectionNarrowed']);
    const search = s.board.pushes[P1]!.bisection!;
    expect(search.candidates[0]!.jobs).toEqual(['1.0']);
    expect(search.sizes).toEqual([4, 2]);
    expect(bisectionRuns(s.board.pushes[P1]!)).toBe(0);
    // The next step is asked for at once (nothing to wait for): the prefix of three.
    expect(bisectionStep(s.board, s.board.pushes[P1]!, 1)).toEqual({ type: 'test', candidates: [{ k: 3 }] });
  });

  it('stage while the search runs says so, not "retry the build" (a retry beside the search only takes a slot)', () => {
    const b = test(red(4).board, [[1, 2]]).board;
    const out = plan(b, { type: 'StagePush', push: P1, env: 'stage-a' }, { actor: PM, now: at, pipeline: JOBS });
    expect(isDomainError(out) && out.message).toBe('push 1 cannot be staged yet: build job test (job 1.2) is failed: pushmanager job log 1.2; a culprit search runs (test): wait for it to remove the request that breaks it (pushmanager status; pushmanager job list --push 1), or stage with --force --reason TEXT');
  });

  it('a candidate from another deploy branch is refused as stale', () => {
    const b = red(4).board;
    const out = plan(b, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: [{ members: [{ request: 1 as RequestId, sha: sha('9') }], base: sha('f'), sha: sha('a') }] }, { actor: systemActor('pipeline'), now: at, pipeline: JOBS });
    expect(isDomainError(out) && out.code).toBe('bisection-stale');
    const users = plan(b, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: [] }, { actor: PM, now: at, pipeline: JOBS });
    expect(isDomainError(users) && users.code).toBe('not-pushmaster');
  });

  it('a job that never flaked is trusted on one run: request 3 alone red names it, it is removed and the push rebuilt as usual', () => {
    let b = test(red(4).board, [[1, 2]]).board;
    b = report(b, lastJob(b), 'passed').board;
    b = test(b, [[1, 2, 3]]).board;
    b = report(b, lastJob(b), 'failed').board;
    b = test(b, [[3]]).board;
    const s = report(b, lastJob(b), 'failed');
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'culprit', culprit: 3 });
    expect(s.board.requests[3]!.push).toBeNull();
    expect(s.board.pushes[P1]!.deploySha).toBe(sha('d')); // the background lane rebuilds it
    expect(s.events.some((e) => e.type === 'DeployBranchBuilt')).toBe(false);
  });

  it('results narrow it and settle it: the culprit removed with the reason naming the job and the candidate, its refs gone', () => {
    // Culprit: request 3 of 4. Prefix 2 green, prefix 3 red, request 3 alone red; the job has flaked before.
    let b = test(withFlakeHistory(red(4).board), [[1, 2]]).board;
    b = report(b, lastJob(b), 'passed').board;
    expect(b.pushes[P1]!.bisection!.sizes).toEqual([4, 2]);
    b = test(b, [[1, 2, 3]]).board;
    b = report(b, lastJob(b), 'failed').board;
    b = test(b, [[3]]).board;
    const solo = lastJob(b);
    b = report(b, solo, 'failed').board;
    // Red alone: the branch without it runs before it is blamed; green, it is the new deploy branch.
    expect(b.pushes[P1]!.bisection!.state).toBe('running');
    const withoutIt = candidates(b, [[1, 2, 4]])[0]!;
    const merges = withoutIt.members.map((m, i) => ({ ...m, commit: sha(String(5 + i)) }));
    b = ok(b, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: [{ ...withoutIt, sha: sha('e'), merges }] }, systemActor('pipeline')).board;
    const rest = lastJob(b);
    const jobsBefore = b.pushes[P1]!.jobs!.length;
    const s = report(b, rest, 'passed');
    const search = s.board.pushes[P1]!.bisection!;
    expect(search).toMatchObject({ state: 'culprit', culprit: 3, proof: { job: solo } });
    expect(s.board.pushes[P1]!).toMatchObject({ deploySha: sha('e'), merges });
    expect(s.refs).toContainEqual({ ref: 'refs/heads/deploy/push-1', newSha: sha('e'), oldSha: sha('d') });
    // Its passed run is the new deploy branch's build job: nothing more is queued.
    expect(s.board.pushes[P1]!.jobs!.length).toBe(jobsBefore);
    expect(search.reason, search.reason).toMatch(new RegExp(`^breaks test: job ${solo.replace('.', '\\.')} failed on candidate [0-9a-f]{7,} \\(master \\+ request #3\\)$`));
    const r3 = s.board.requests[3]!;
    expect(r3.push).toBeNull();
    expect(s.board.pushes[P1]!.removals.at(-1)).toMatchObject({ request: 3, reason: search.reason });
    expect(s.refs.filter((r) => r.ref.startsWith('refs/heads/bisect/')).map((r) => [r.ref, r.newSha])).toEqual([
      ['refs/heads/bisect/push-1/1', null],
      ['refs/heads/bisect/push-1/2', null],
      ['refs/heads/bisect/push-1/3', null],
      ['refs/heads/bisect/push-1/4', null],
    ]);
  });

  it('red without the culprit too (a second red request): that candidate is the new deploy branch, its failed run the first attempt; only its retry runs, and red again it starts the next search', () => {
    // Culprits: requests 3 and 4 of 4. Prefix 2 green, prefix 3 red, request 3 alone red, then [1, 2, 4] red.
    let b = test(withFlakeHistory(red(4).board), [[1, 2]]).board;
    b = report(b, lastJob(b), 'passed').board;
    b = test(b, [[1, 2, 3]]).board;
    b = report(b, lastJob(b), 'failed').board;
    b = test(b, [[3]]).board;
    b = report(b, lastJob(b), 'failed').board;
    const withoutIt = candidates(b, [[1, 2, 4]])[0]!;
    const merges = withoutIt.members.map((m, i) => ({ ...m, commit: sha(String(5 + i)) }));
    b = ok(b, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: [{ ...withoutIt, sha: sha('e'), merges }] }, systemActor('pipeline')).board;
    const rest = lastJob(b);
    // One red prefix and a red branch without it: flakes, or a second culprit? The prefix runs again,
    // and so does request 3 alone: each red run that blames it has failed twice.
    b = report(b, rest, 'failed').board;
    expect(b.pushes[P1]!.bisection!.state).toBe('running');
    b = test(b, [[1, 2, 3]]).board;
    b = report(b, lastJob(b), 'failed').board;
    expect(b.pushes[P1]!.bisection!.state).toBe('running');
    b = test(b, [[3]]).board;
    const s = report(b, lastJob(b), 'failed');
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'culprit', culprit: 3 });
    expect(s.board.requests[3]!.push).toBeNull();
    // No rebuild: the candidate is the deploy branch, and the one job queued on it is the retry of its failed run.
    expect(s.board.pushes[P1]!).toMatchObject({ deploySha: sha('e'), merges });
    expect(s.refs).toContainEqual({ ref: 'refs/heads/deploy/push-1', newSha: sha('e'), oldSha: sha('d') });
    const queued = s.board.pushes[P1]!.jobs!.filter((j) => j.state === 'queued');
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ name: 'test', on: 'build', sha: sha('e'), kind: 'retry', attempt: 2 });
    // The retry fails too: the branch without request 3 is red on two runs, and the next search starts there.
    const next = report(s.board, queued[0]!.id, 'failed');
    // Prefix [1, 2] is still a prefix and green: one suspect left at once, request 4.
    expect(next.board.pushes[P1]!.bisection).toMatchObject({ state: 'running', job: queued[0]!.id, sizes: [3, 1] });
    expect(next.board.pushes[P1]!.bisection!.requests.map((m) => m.request)).toEqual([1, 2, 4]);
    // Or it passes: the red run was a flake, the push goes on and the retry is marked flaky.
    const green = report(s.board, queued[0]!.id, 'passed').board;
    expect(green.pushes[P1]!.jobs!.find((j) => j.id === queued[0]!.id)).toMatchObject({ state: 'passed', flaky: true });
    expect(green.pushes[P1]!.bisection!.state).toBe('culprit');
  });

  it('a pair, once the job is known to flake: the branch without the later one ran green in the search, so it is the new deploy branch; the pair runs twice first', () => {
    // Requests 2 and 4 of 4 are red only together. Prefixes 2 and 3 green, request 4 alone green.
    let b = test(withFlakeHistory(red(4).board), [[1, 2]]).board;
    b = report(b, lastJob(b), 'passed').board;
    const withoutIt = candidates(b, [[1, 2, 3]])[0]!;
    const merges = withoutIt.members.map((m, i) => ({ ...m, commit: sha(String(5 + i)) }));
    b = ok(b, { type: 'TestBisectCandidates', push: P1, bisection: '1.2', runner: 'local', candidates: [{ ...withoutIt, sha: sha('e'), merges }] }, systemActor('pipeline')).board;
    b = report(b, lastJob(b), 'passed').board;
    b = test(b, [[4]]).board;
    b = report(b, lastJob(b), 'passed').board;
    // The partner: with request 1, green; with requests 1 and 2, red.
    b = test(b, [[1, 4]]).board;
    b = report(b, lastJob(b), 'passed').board;
    b = test(b, [[1, 2, 4]]).board;
    b = report(b, lastJob(b), 'failed').board;
    // The whole branch's two runs and that one would all be flakes if nothing were red: it runs again.
    expect(b.pushes[P1]!.bisection!.state).toBe('running');
    b = test(b, [[1, 2, 4]]).board;
    const s = report(b, lastJob(b), 'failed');
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'pair', culprit: 4, partner: 2 });
    expect(s.board.requests[4]!.push).toBeNull();
    expect(s.board.requests[2]!.push).toBe(P1);
    // No rebuild: prefix 3, green in the search, is the deploy branch, and nothing more is queued.
    expect(s.board.pushes[P1]!).toMatchObject({ deploySha: sha('e'), merges });
    expect(s.board.pushes[P1]!.jobs!.filter((j) => j.state === 'queued')).toEqual([]);
  });

  it('narrowed to one request, the summary names it while the runs that confirm it go on', () => {
    let b = test(withFlakeHistory(red(4).board), [[1, 2]]).board;
    b = report(b, lastJob(b), 'passed').board;
    expect(describeBisection(b.pushes[P1]!)).toBe('bisecting push 1 (test): 4 → 2 requests, 1 run; about 2 more runs');
    b = test(b, [[1, 2, 3]]).board;
    b = report(b, lastJob(b), 'failed').board;
    expect(describeBisection(b.pushes[P1]!)).toBe('bisecting push 1 (test): 4 → 2 → 1 request, 2 runs; narrowed to request #3, confirming before anyone is blamed');
    b = test(b, [[3]]).board;
    b = report(b, lastJob(b), 'passed').board;
    expect(describeBisection(b.pushes[P1]!)).toMatch(/; request #3 passed alone: a flake, or it fails only with an earlier request; about \d+ more runs?$/);
  });

  it('while it halves, the summary says about how many runs are left and how long one takes (the median of the job\'s runs on the push)', () => {
    const timed = (b: Board, job: string, state: 'passed' | 'failed', minutes: number): Board => {
      const start = '2026-01-01T02:00:00.000Z';
      const end = new Date(Date.parse(start) + minutes * 60_000).toISOString();
      const s1 = ok(b, { type: 'RecordJob', job, change: { type: 'started', at: start } }, systemActor('pipeline'));
      return ok(s1.board, { type: 'RecordJob', job, change: state === 'passed' ? { type: 'passed', at: end, exitCode: 0 } : { type: 'failed', at: end, exitCode: 3, tail: 'x' } }, systemActor('pipeline')).board;
    };
    // 16 requests; the build took 9 min, its retry 11, the first candidate 8: median 9.
    let b = timed(timed(built(16), '1.1', 'failed', 9), '1.2', 'failed', 11);
    b = test(b, [[1, 2, 3, 4, 5, 6, 7, 8]]).board;
    expect(describeBisection(b.pushes[P1]!)).toBe('bisecting push 1 (test): 16 requests, 1 run; about 5 more runs of ~9 min');
    b = timed(b, lastJob(b), 'passed', 8);
    expect(describeBisection(b.pushes[P1]!)).toBe('bisecting push 1 (test): 16 → 8 requests, 1 run; about 4 more runs of ~9 min');
    // The newest five runs decide: three more of 20 min each (the runner got slower), and the build's 9 min
    // drops out (over all six runs the median would be 11 min).
    for (const set of [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      b = test(b, [set]).board;
      b = timed(b, lastJob(b), 'passed', 20);
    }
    expect(describeBisection(b.pushes[P1]!)).toMatch(/ of ~20 min$/);
    // Under a minute and a half, in seconds; under a second, the count alone.
    let q = timed(timed(built(4), '1.1', 'failed', 0.5), '1.2', 'failed', 0.5);
    q = test(q, [[1, 2]]).board;
    expect(describeBisection(q.pushes[P1]!)).toBe('bisecting push 1 (test): 4 requests, 1 run; about 3 more runs of ~30 s');
  });

  it('autoRemove false names the culprit and leaves it in the push', () => {
    const keep: PipelineJobs = { ...JOBS, autoRemove: false };
    let b = test(red(2, keep).board, [[1]], keep).board;
    b = report(b, lastJob(b), 'passed', keep).board;
    b = test(b, [[2]], keep).board;
    const s = report(b, lastJob(b), 'failed', keep);
    expect(s.board.pushes[P1]!.bisection).toMatchObject({ state: 'culprit', culprit: 2 });
    expect(s.board.requests[2]!.push).toBe(P1);
    expect(s.events.some((e) => e.type === 'RequestRemoved')).toBe(false);
    // The board says a decision waits, and the command that takes it; once taken, who took it.
    expect(describeBisection(s.board.pushes[P1]!)).toMatch(/^bisection of push 1 \(test\) found request #2 in 2 runs: job 1\.4 failed on candidate [0-9a-f]{10} \(master \+ request #2\); #2 is still in the push: to remove it, pushmanager push remove 1 2 --reason "breaks test"$/);
    const removed = rebuilt(s.board, { type: 'RemoveRequest', push: P1, request: 2 as RequestId, reason: 'breaks test' }, PM, keep);
    expect(describeBisection(removed.pushes[P1]!)).toMatch(/; removed from the push by pm$/);
    // Picked and accepted again as it was: the board says it is back, unchanged.
    const back = rebuilt(ok(removed, { type: 'PickmeRequest', request: 2 as RequestId }, ALICE, keep).board, { type: 'AcceptRequests', push: P1, requests: [2 as RequestId] }, PM, keep);
    expect(describeBisection(back.pushes[P1]!)).toMatch(/; #2 was removed, and is back in the push, unchanged since it was blamed$/);
  });

  it('master red blames nobody', () => {
    let b = test(red(2).board, [[1]]).board;
    b = report(b, lastJob(b), 'failed').board;
    b = test(b, [[]]).board;
    const s = report(b, lastJob(b), 'failed');
    expect(s.board.pushes[P1]!.bisection!.state).toBe('master-red');
    expect(s.events.some((e) => e.type === 'RequestRemoved')).toBe(false);
  });

  it('a new deploy branch restarts it there, keeping the finished prefixes it still has and cancelling the runs under way', () => {
    let b = test(red(4).board, [[1, 2]]).board;
    b = report(b, lastJob(b), 'failed').board;
    b = test(b, [[1]]).board;
    const running = lastJob(b);
    // Request 4 is pushed again (an innocent one): a new build.
    b = ok(b, { type: 'UpdateRequest', ref: 'refs/pushreq/r4', sha: sha('e'), forced: false } as unknown as Command, ALICE).board;
    const merges = wantedMerges(b, P1).map((w, i) => ({ ...w, commit: sha(String.fromCharCode(110 + i)) }));
    const s = ok(b, { type: 'RecordBuild', push: P1, deploySha: sha('c'), baseSha: sha('f'), merges, dropped: [] }, systemActor('deploy-build'));
    const search = s.board.pushes[P1]!.bisection!;
    expect(search.state).toBe('running');
    expect(search.requests.at(-1)).toEqual({ request: 4, sha: sha('e') });
    expect(search.candidates.map((c) => c.members.length)).toEqual([2, 1]);
    expect(s.board.pushes[P1]!.jobs!.find((j) => j.id === running)!.state).toBe('cancelled');
  });

  it('cancelling the failed job cancels the search and its runs; a discarded push ends it', () => {
    const b = test(red(4).board, [[1, 2]]).board;
    const s = ok(b, { type: 'CancelJob', job: '1.2' }, PM);
    expect(s.board.pushes[P1]!.bisection!.state).toBe('cancelled');
    // Where it had got to, and how to search again; the answer to the cancel says the same, not "retry job 1.3".
    const said = 'bisection of push 1 (test) cancelled by pm after 4 requests, 1 run; the gate stays red: pushmanager job retry 1.2 runs the build again, and searches again if it fails';
    expect(describeBisection(s.board.pushes[P1]!)).toBe(said);
    expect(answerSentence({ type: 'CancelJob', push: P1 }, commandOutcome(s.board, { type: 'CancelJob' }, s.events))).toBe(`${said} (cancelled: job 1.3)`);
    expect(s.board.pushes[P1]!.jobs!.at(-1)!.state).toBe('cancelled');
    expect(s.refs).toContainEqual({ ref: 'refs/heads/bisect/push-1/1', newSha: null, oldSha: sha('a0') });
    // A partner search's sizes go up again where it starts: said so, not "1 → 6".
    const pairSearch = { ...s.board.pushes[P1]!, bisection: { ...s.board.pushes[P1]!.bisection!, sizes: [10, 5, 2, 1, 6, 3] } };
    expect(describeBisection(pairSearch)).toContain('cancelled by pm after 10 → 5 → 2 → 1 request, then its partner among 6 → 3 earlier requests, 1 run;');
    const d = ok(b, { type: 'DiscardPush', push: P1, reason: 'no' }, PM);
    expect(d.board.pushes[P1]!.bisection!.state).toBe('cancelled');
  });
});
