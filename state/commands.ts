// Commands: what a user (or the server itself) asks for, imperative and not yet validated against the board.
import type { JobEvent, JobRunner } from './jobs.js';
import type { Conflict, MergedRequest, PushId, PushType, RequestId, UserName } from './model.js';

export interface RequestFields {
  readonly title?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly watchers?: readonly UserName[];
  readonly review?: string | null;
  readonly ticket?: string | null;
}

export type Command =
  // Intake, from git pushes to refs/pushreq/*
  // `owner`: set only by the system when it adopts a ref nobody opened (reconcile); users open their own.
  | ({ readonly type: 'OpenRequest'; readonly ref: string; readonly sha: string; readonly autoPickme: boolean; readonly owner?: { readonly name: UserName; readonly inferredFrom: 'commit-author' } } & RequestFields)
  | ({ readonly type: 'UpdateRequest'; readonly ref: string; readonly sha: string; readonly forced: boolean } & RequestFields)
  | { readonly type: 'WithdrawRequest'; readonly ref: string; readonly reason?: string }
  // Pushees
  | { readonly type: 'PickmeRequest'; readonly request: RequestId; readonly push?: PushId }
  | { readonly type: 'UnpickmeRequest'; readonly request: RequestId }
  | { readonly type: 'VerifyRequest'; readonly request: RequestId }
  | { readonly type: 'VerifyPush'; readonly push: PushId }
  | { readonly type: 'DelayRequest'; readonly request: RequestId; readonly reason?: string }
  | { readonly type: 'UndelayRequest'; readonly request: RequestId }
  | { readonly type: 'DiscardRequest'; readonly request: RequestId; readonly reason?: string }
  | { readonly type: 'CommentRequest'; readonly request: RequestId; readonly text: string }
  | ({ readonly type: 'EditRequest'; readonly request: RequestId } & RequestFields)
  // Pushmasters
  | { readonly type: 'OpenPush'; readonly title: string; readonly pushType: PushType }
  | { readonly type: 'AcceptRequests'; readonly push: PushId; readonly requests: readonly RequestId[] }
  | { readonly type: 'RemoveRequest'; readonly push: PushId; readonly request: RequestId; readonly reason: string }
  | { readonly type: 'RebuildPush'; readonly push: PushId }
  // force + reason: past a red job gate (SPEC §6); bless's force also passes unverified requests and open checklists.
  | { readonly type: 'StagePush'; readonly push: PushId; readonly env: string; readonly force?: boolean; readonly reason?: string }
  | { readonly type: 'BlessPush'; readonly push: PushId; readonly force: boolean; readonly reason?: string }
  | { readonly type: 'CertifyPush'; readonly push: PushId; readonly force: boolean }
  | { readonly type: 'DiscardPush'; readonly push: PushId; readonly reason?: string }
  | { readonly type: 'MessagePushees'; readonly push: PushId; readonly text: string; readonly state?: string }
  | { readonly type: 'PingmePush'; readonly push: PushId; readonly on: boolean }
  | { readonly type: 'TakeOverPush'; readonly push: PushId }
  | { readonly type: 'TickChecklist'; readonly push: PushId; readonly item: string; readonly done: boolean }
  | { readonly type: 'RetryJob'; readonly job: string }
  | { readonly type: 'CancelJob'; readonly job: string; readonly reason?: string }
  /** An external CI's result for a job (runner: external), by a user in the ci role. */
  | { readonly type: 'ReportJob'; readonly job: string; readonly state: 'passed' | 'failed'; readonly url?: string }
  // The server's own findings
  | { readonly type: 'RecordConflicts'; readonly results: readonly ConflictResult[] }
  /** What a runner reported about a job: started, finished, interrupted, run again. */
  | { readonly type: 'RecordJob'; readonly job: string; readonly change: JobEvent }
  /**
   * Bisection candidates the server built (or found built) for a push's running search (`bisection`: the
   * job that started it): each is run as a bisect job. `sha` null: it does not merge (`files`), and its
   * run is recorded as failed. A candidate already under way is skipped.
   */
  | { readonly type: 'TestBisectCandidates'; readonly push: PushId; readonly bisection: string; readonly runner: JobRunner; readonly candidates: readonly BisectCandidateBuilt[] }
  // master moved to upstream's (fetched): `from` is what it was here (null: absent), `to` what upstream has
  | { readonly type: 'FollowUpstream'; readonly ref: string; readonly from: string | null; readonly to: string }
  | { readonly type: 'RecordBuild'; readonly push: PushId; readonly deploySha: string | null; readonly baseSha: string | null; readonly merges: readonly MergedRequest[]; readonly dropped: readonly DroppedRequest[] };

export interface BisectCandidateBuilt {
  readonly members: readonly { readonly request: RequestId; readonly sha: string }[];
  readonly base: string;
  readonly sha: string | null;
  readonly files?: readonly string[];
  /** Its merge commits (request, SHA, commit), when built. */
  readonly merges?: readonly MergedRequest[];
}

export interface ConflictResult {
  readonly request: RequestId;
  /** The SHA that was checked: a result for an older SHA is ignored. */
  readonly sha: string;
  readonly conflicts: readonly Conflict[];
}

/** A request that no longer merged while the deploy branch was rebuilt: it goes back to pickme. */
export interface DroppedRequest {
  readonly request: RequestId;
  readonly files: readonly string[];
}

export type CommandType = Command['type'];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;
