// Events: what happened, past tense. decide() produces them, evolve() applies them, notifications route them.
import type { SystemCause } from './actor.js';
import type { BisectCandidate, BisectMember } from './bisection.js';
import type { Job, JobHandle, JobState } from './jobs.js';
import type { ChecklistItem, Comment, Deploying, Conflict, MergedRequest, Push, PushId, PushRequest, RequestId, RequestState, UserName } from './model.js';

interface Base {
  /** ISO time from the command's context (state/ reads no clock). */
  readonly at: string;
  /** Who acted: a user's name, or `pushmanager` for the server's own work (then `cause` says why). */
  readonly actor: UserName;
  /** Only on the system's events: which bookkeeping made them. Absent on users' and on older boards' events. */
  readonly cause?: SystemCause;
}

export type DomainEvent = Base &
  (
    | { readonly type: 'RequestOpened'; readonly request: PushRequest }
    | { readonly type: 'RequestUpdated'; readonly request: RequestId; readonly sha: string; readonly previousSha: string; readonly forced: boolean }
    | { readonly type: 'RequestEdited'; readonly request: RequestId; readonly changes: Partial<Pick<PushRequest, 'title' | 'description' | 'tags' | 'watchers' | 'review' | 'ticket'>> }
    | { readonly type: 'RequestWithdrawn'; readonly request: RequestId; readonly reason: string; readonly fromState: RequestState }
    | { readonly type: 'RequestPicked'; readonly request: RequestId; readonly push: PushId }
    | { readonly type: 'RequestUnpicked'; readonly request: RequestId; readonly push: PushId }
    | { readonly type: 'RequestAccepted'; readonly request: RequestId; readonly push: PushId }
    | { readonly type: 'RequestRemoved'; readonly request: RequestId; readonly push: PushId; readonly reason: string; readonly fromState: RequestState; readonly toState: RequestState }
    | { readonly type: 'RequestVerified'; readonly request: RequestId; readonly push: PushId }
    | { readonly type: 'AllVerified'; readonly push: PushId }
    | { readonly type: 'RequestDelayed'; readonly request: RequestId; readonly reason: string }
    | { readonly type: 'RequestUndelayed'; readonly request: RequestId }
    | { readonly type: 'RequestDiscarded'; readonly request: RequestId; readonly reason: string }
    | { readonly type: 'CommentAdded'; readonly request: RequestId; readonly comment: Comment }
    | { readonly type: 'ConflictsFound'; readonly request: RequestId; readonly sha: string; readonly conflicts: readonly Conflict[] }
    | { readonly type: 'PushOpened'; readonly push: Push }
    | { readonly type: 'DeployBranchBuilt'; readonly push: PushId; readonly deploySha: string | null; readonly baseSha: string | null; readonly merges: readonly MergedRequest[] }
    /** `forced`: staged past a red job gate (the jobs, and why). */
    | { readonly type: 'PushStaged'; readonly push: PushId; readonly env: string; readonly requests: readonly RequestId[]; readonly forced?: ForcedGate }
    | { readonly type: 'PushBlessed'; readonly push: PushId; readonly forced: boolean; readonly unverified: readonly RequestId[]; readonly reason?: string; readonly jobs?: readonly string[] }
    | { readonly type: 'PushCertified'; readonly push: PushId; readonly tag: string; readonly masterSha: string; readonly requests: readonly RequestId[]; readonly returned: readonly RequestId[] }
    | { readonly type: 'PushDiscarded'; readonly push: PushId; readonly reason: string; readonly returned: readonly RequestId[] }
    | { readonly type: 'PushMessageSent'; readonly push: PushId; readonly text: string; readonly state: string | null }
    | { readonly type: 'PingmeChanged'; readonly push: PushId; readonly user: UserName; readonly on: boolean }
    | { readonly type: 'PushTakenOver'; readonly push: PushId; readonly from: UserName; readonly to: UserName }
    | { readonly type: 'ChecklistTicked'; readonly push: PushId; readonly item: string; readonly done: boolean }
    // The managed repository's master followed upstream's (the ref moved with this commit).
    | { readonly type: 'MasterFollowedUpstream'; readonly from: string | null; readonly to: string }
    | { readonly type: 'ChecklistSet'; readonly push: PushId; readonly items: readonly ChecklistItem[] }
    // Pipeline jobs (SPEC §6): recorded by the system (cause `pipeline`), retried and cancelled by the pushmaster.
    | { readonly type: 'JobQueued'; readonly push: PushId; readonly job: Job }
    // `when`: the time the runner saw it (the event's `at` is when it was recorded).
    | { readonly type: 'JobStarted'; readonly push: PushId; readonly job: string; readonly when?: string; readonly handle?: JobHandle; readonly log?: string; readonly url?: string }
    | { readonly type: 'JobFinished'; readonly push: PushId; readonly job: string; readonly when?: string; readonly name: string; readonly sha: string; readonly state: Exclude<JobState, 'queued' | 'running'>; readonly exitCode?: number; readonly reason?: string; readonly url?: string; readonly tail?: string; readonly notRun?: true }
    /** An interrupted job is run again (after a server crash). */
    | { readonly type: 'JobRequeued'; readonly push: PushId; readonly job: string }
    /** stage / bless with deploy jobs: the jobs run, the step is recorded (PushStaged, PushBlessed) when they pass. */
    | { readonly type: 'DeployStarted'; readonly push: PushId; readonly deploying: Deploying }
    /** A deploy job failed or was cancelled: the step did not happen; the push stays where it was. */
    | { readonly type: 'DeployFailed'; readonly push: PushId; readonly step: 'stage' | 'bless'; readonly env: string | null; readonly job: string; readonly name: string; readonly state: JobState; readonly reason?: string; readonly tail?: string; readonly forced?: true }
    /** More of where a running job is (Buildbot: the build its request started, and the build's page). */
    | { readonly type: 'JobAttached'; readonly push: PushId; readonly job: string; readonly handle: JobHandle; readonly url?: string }
    /**
     * An external CI's result for a job that had already ended (cancelled: its SHA was replaced, or the
     * pushmaster stopped it): recorded for the audit trail, the job's state unchanged, so it opens no gate.
     */
    | { readonly type: 'JobReported'; readonly push: PushId; readonly job: string; readonly state: 'passed' | 'failed'; readonly url?: string }
    // Bisection (issue 16): the search for the request that turns a build job red (state/bisection.ts).
    /** A build job failed its retries: the search starts on the deploy branch's requests; `inherited`: an earlier search's prefixes that still hold. */
    | { readonly type: 'BisectionStarted'; readonly push: PushId; readonly job: string; readonly name: string; readonly base: string; readonly requests: readonly BisectMember[]; readonly inherited: readonly BisectCandidate[] }
    /** A candidate is run (a new one, or a known one run again): its record with the new job's id last; the job itself is a JobQueued. */
    | { readonly type: 'BisectCandidateTested'; readonly push: PushId; readonly candidate: BisectCandidate }
    /** A new deploy branch during a search: it goes on there, keeping the candidates (`kept`) that are still its prefixes. */
    | { readonly type: 'BisectionRebased'; readonly push: PushId; readonly base: string; readonly requests: readonly BisectMember[]; readonly kept: readonly number[] }
    | { readonly type: 'BisectionNarrowed'; readonly push: PushId; readonly suspects: number }
    | {
        readonly type: 'BisectionConcluded';
        readonly push: PushId;
        readonly outcome: 'culprit' | 'pair' | 'master-red' | 'green' | 'cancelled';
        readonly culprit?: RequestId;
        readonly partner?: RequestId;
        readonly proof?: { readonly job: string; readonly candidate: number };
        readonly reason: string;
      }
  );

/** A step taken past red jobs with --force. */
export interface ForcedGate {
  readonly reason: string;
  readonly jobs: readonly string[];
}

export type EventType = DomainEvent['type'];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;
