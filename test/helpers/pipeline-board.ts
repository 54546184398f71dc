// Pure pipeline tests' boards, built through the write path (state/plan.ts) as the writer builds them:
// push 1 of alice's requests, its deploy branch recorded (its build jobs queued), runners' reports, and
// a culprit search's candidates as the server records them. Each step keeps the events it committed, so
// a test can route them (state/notify/routing.ts) exactly as the server would.
import { replay } from './replay.js';
import type { BisectCandidateBuilt, Command } from '../../state/commands.js';
import { systemActor, userActor, type Actor } from '../../state/decide.js';
import { isDomainError, type DomainError } from '../../state/errors.js';
import type { DomainEvent } from '../../state/events.js';
import type { PipelineJobs } from '../../state/job-queue.js';
import { wantedMerges, type Board, type PushId, type RequestId } from '../../state/model.js';
import { plan } from '../../state/plan.js';

export const PM = userActor('pm', { pushmaster: true });
export const ALICE = userActor('alice');
export const PIPELINE = systemActor('pipeline');
export const P1 = 1 as PushId;
export const sha = (c: string): string => c.repeat(40).slice(0, 40);
export const BISECT: PipelineJobs = { runner: 'local', jobs: [{ name: 'test', on: 'build' }], retries: 1, onFailure: 'bisect', autoRemove: true };
const at = '2026-01-01T01:00:00.000Z';

export interface Step {
  readonly board: Board;
  readonly events: readonly DomainEvent[];
}

let t = 0;
const now = () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString();

export function attempt(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs = BISECT): Step | DomainError {
  const out = plan(b, cmd, { actor: who, now: now(), pipeline });
  if (isDomainError(out)) return out;
  if (out.kind !== 'planned') throw new Error(`${cmd.type} needs builds`);
  return out;
}

export function ok(b: Board, cmd: Command, who: Actor, pipeline: PipelineJobs = BISECT): Step {
  const out = attempt(b, cmd, who, pipeline);
  if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.code} ${out.message}`);
  return out;
}

/** A runner's report: the job started, then passed or failed (exit code 3). */
export const report = (b: Board, job: string, state: 'passed' | 'failed', pipeline: PipelineJobs = BISECT): Step => {
  const s = ok(b, { type: 'RecordJob', job, change: { type: 'started', at } }, PIPELINE, pipeline);
  return ok(s.board, { type: 'RecordJob', job, change: state === 'passed' ? { type: 'passed', at, exitCode: 0 } : { type: 'failed', at, exitCode: 3, reason: 'exit code 3', tail: 'BREAKS present' } }, PIPELINE, pipeline);
};

/** A build of push 1 at `deploySha` over its wanted merges on master `base` (its build jobs queued); a new base stands for master having moved. */
export const recordBuild = (b: Board, deploySha: string, pipeline: PipelineJobs = BISECT, base = sha('f')): Step => {
  const merges = wantedMerges(b, P1).map((w, i) => ({ ...w, commit: sha(String.fromCharCode(97 + i)) }));
  return ok(b, { type: 'RecordBuild', push: P1, deploySha, baseSha: base, merges, dropped: [] }, systemActor('deploy-build'), pipeline);
};

/** Push 1 (pm) with n of alice's requests accepted and built at d…: its build job 1.1 queued. */
export function built(n: number, pipeline: PipelineJobs = BISECT): Board {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const b = replay(
    [
      [{ type: 'OpenPush', title: 'Tue', pushType: 'regular' }, PM],
      ...ids.map((i) => [{ type: 'OpenRequest', ref: `refs/pushreq/r${i}`, sha: sha(String(i)), autoPickme: true, title: `r${i}` }, ALICE] as const),
      [{ type: 'AcceptRequests', push: P1, requests: ids.map((i) => i as RequestId) }, PM],
    ],
    now,
  );
  return recordBuild(b, sha('d'), pipeline).board;
}

/** The candidates of `sets` (request ids) as the server records them for push 1's running search. */
export function testCandidates(b: Board, sets: readonly (readonly number[])[], pipeline: PipelineJobs = BISECT): Step {
  const search = b.pushes[P1]!.bisection!;
  let next = search.candidates.length;
  const candidates: BisectCandidateBuilt[] = sets.map((ids) => ({ members: ids.map((id) => ({ request: id as RequestId, sha: b.requests[id]!.sha })), base: sha('f'), sha: sha(`a${next++}`) }));
  return ok(b, { type: 'TestBisectCandidates', push: P1, bisection: search.job, runner: 'local', candidates }, PIPELINE, pipeline);
}

/**
 * A culprit search on push 1 from its red build: the build and its retry fail, then each candidate of
 * `runs` (request ids) is recorded and its run reported; the last step (the one that settles it) is returned.
 */
export function searched(b: Board, runs: readonly (readonly [readonly number[], 'passed' | 'failed'])[], pipeline: PipelineJobs = BISECT): Step {
  let s = report(report(b, '1.1', 'failed', pipeline).board, '1.2', 'failed', pipeline);
  for (const [set, state] of runs) {
    const t = testCandidates(s.board, [set], pipeline).board;
    s = report(t, lastJob(t), state, pipeline);
  }
  return s;
}

export const lastJob = (b: Board): string => b.pushes[P1]!.jobs!.at(-1)!.id;
export const jobOf = (b: Board, id: string) => b.pushes[P1]!.jobs!.find((j) => j.id === id)!;
