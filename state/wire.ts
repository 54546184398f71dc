// The JSON API's wire types: what the server sends and what it takes, in one module that the server
// (server/http/api.ts, api-schema.ts, server/app/board-links.ts) and the clients (tui/) both import.
// Pure types, so it lives in state/ and the clients need no server module for them; api-schema.ts
// checks at compile time that its zod schemas take exactly ApiCommandInput.
import type { AllowedActions, Availability, PushActionName, RequestActionName, WireActionRow, WireActions, WireRefusal } from './allowed-actions.js';
import type { CommandOutcome } from './describe.js';
import type { DomainErrorCode } from './errors.js';
import type { JobKind, JobPhase, JobRunner, JobState } from './jobs.js';
import type { InPushState, PushType } from './model.js';
import type { StatusBisection, StatusPush, StatusRequest, StatusView } from './status-view.js';

export type { AllowedActions, Availability, PushActionName, RequestActionName, StatusBisection, StatusPush, StatusRequest, StatusView, WireActionRow, WireActions, WireRefusal };

// ---- What the server sends

/** A Buildbot result as GET /api/board sends it (server/app/board-links.ts); clients read it defensively. */
export interface BuildSummary {
  readonly state: 'pass' | 'fail' | 'running' | 'unknown';
  readonly failedBuilders: readonly string[];
  readonly link: string;
  readonly error?: string;
}

/** Links of one request to the company's other systems. */
export interface RequestLinks {
  readonly review?: string;
  readonly ticket?: string;
  readonly shipIts?: number | null;
  readonly build?: BuildSummary | unknown;
}

/**
 * GET /api/board (and `status --json`): the status view (SPEC §5), plus, additively, what the asking
 * user may do now (`actions`: per request still in play and per open push, each action offered or
 * refused with the code and reason decide gives, in the compact wire form: expandActions() reads it)
 * and, when integrations are configured, links and build results.
 */
export interface BoardView extends StatusView {
  readonly actions?: WireActions;
  readonly links?: Readonly<Record<number, RequestLinks>>;
  readonly builds?: Readonly<Record<number, BuildSummary | unknown>>;
}

/** GET /api/whoami. */
export interface WhoAmI {
  readonly user: { readonly name: string; readonly pushmaster: boolean; readonly admin?: boolean };
}

/** One commit of the metadata branch, as GET /api/requests/:id and /api/pushes/:id list them. */
export interface HistoryItem {
  readonly version: string;
  readonly at: string;
  readonly actor: string;
  readonly command: string;
  readonly subject: string;
  readonly events: readonly string[];
}

/** GET /api/requests/:id. */
export interface RequestDetail {
  readonly request: StatusRequest & { comments: { at: string; user: string; text: string }[] };
  readonly push: StatusPush | null;
  readonly history: readonly HistoryItem[];
}

/** GET /api/pushes/:id. */
export interface PushDetail {
  readonly push: StatusPush & { removals: { request: number; by: string; reason: string; fromState: string; at: string }[] };
  readonly history: readonly HistoryItem[];
}

/** POST /api/commands, accepted: the new metadata version, the event names, and the outcome (events, touched pushes and requests). */
export interface CommandAnswer extends CommandOutcome {
  readonly ok: true;
  readonly version: string;
  readonly events: readonly string[];
}

// ---- Pipeline jobs (SPEC §6; issue 15). The contract the server and the clients build against.

/** A job as `status --json` and GET /api/board carry it, on its push (`StatusPush.jobs`). */
export interface StatusJob {
  readonly id: string;
  readonly name: string;
  readonly on: JobPhase;
  readonly sha: string;
  readonly state: JobState;
  readonly attempt: number;
  readonly kind: JobKind;
  readonly url: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** Who runs it (local, buildbot, external): an external CI keeps the log, at `url` once it reports one. */
  readonly runner?: JobRunner;
  /** Passed on a retry after failing. */
  readonly flaky?: boolean;
  /** Failed without running, and why: the runner could not run it ("Buildbot: no builder \"unit\" …"); no red build, nobody blamed. */
  readonly notRun?: string;
  /** Run again from scratch because the server stopped while it ran: how often, and when the last stop cut it short. */
  readonly rerun?: { readonly times: number; readonly at: string };
  /** A stage or bless job's environment (its `{env}`), fixed when the step queued it. */
  readonly env?: string;
  /** A run of the push's culprit search: what its candidate holds ("master + #1 … #4 (4)": the first four, in merge order). */
  readonly candidate?: string;
}

/** GET /api/jobs/:id: the job, what ran, where, and how it ended. GET /api/jobs?push=N answers `{ jobs: StatusJob[] }`. */
export interface JobDetail extends StatusJob {
  readonly push: number;
  readonly runner: JobRunner;
  /** The argument array a local job runs, or the Buildbot builder's name. */
  readonly command: readonly string[] | null;
  readonly builder: string | null;
  readonly exitCode: number | null;
  /** Why it ended so, in words ("timed out after 1800 s", "cancelled by pm"). */
  readonly reason: string | null;
  /** Where its log is: `GET /api/jobs/:id/log` (add `?follow=1` to stream it until the job ends, text/plain). */
  readonly log: string | null;
  /** How often a job of this name passed only on a retry, over the board (absent: never). */
  readonly flakes?: number;
  /** A later run of this job on the same SHA that passed: nothing to run again (absent: none). */
  readonly passedLater?: { readonly job: string; readonly attempt: number };
  /** Why `job retry` refuses this job and what to run instead (a culprit search's run); absent: it may be retried. */
  readonly retryRefused?: string;
}

/** Every refusal's body (a non-2xx answer). `code` is a DomainErrorCode for the domain's refusals. */
export interface ApiErrorBody {
  readonly error: { readonly code: DomainErrorCode | string; readonly message: string; readonly data?: Readonly<Record<string, unknown>> };
}

// ---- What the server takes (POST /api/commands): ids are plain numbers; defaults may be left out.

type Id = number;
/** The fields a request edit may change. */
export interface RequestFieldsInput {
  readonly title?: string;
  readonly description?: string;
  readonly tags?: string[];
  readonly watchers?: string[];
  readonly review?: string | null;
  readonly ticket?: string | null;
}

export type ApiCommandInput =
  | { readonly type: 'PickmeRequest'; readonly request: Id; readonly push?: Id }
  | { readonly type: 'UnpickmeRequest'; readonly request: Id }
  | { readonly type: 'VerifyRequest'; readonly request: Id }
  | { readonly type: 'VerifyPush'; readonly push: Id }
  | { readonly type: 'DelayRequest'; readonly request: Id; readonly reason?: string }
  | { readonly type: 'UndelayRequest'; readonly request: Id }
  | { readonly type: 'DiscardRequest'; readonly request: Id; readonly reason?: string }
  | { readonly type: 'CommentRequest'; readonly request: Id; readonly text: string }
  | ({ readonly type: 'EditRequest'; readonly request: Id } & RequestFieldsInput)
  | { readonly type: 'OpenPush'; readonly title: string; readonly pushType?: PushType }
  | { readonly type: 'AcceptRequests'; readonly push: Id; readonly requests: Id[] }
  | { readonly type: 'RemoveRequest'; readonly push: Id; readonly request: Id; readonly reason: string }
  | { readonly type: 'RebuildPush'; readonly push: Id }
  | { readonly type: 'StagePush'; readonly push: Id; readonly env: string; readonly force?: boolean; readonly reason?: string }
  | { readonly type: 'BlessPush'; readonly push: Id; readonly force?: boolean; readonly reason?: string }
  | { readonly type: 'CertifyPush'; readonly push: Id; readonly force?: boolean }
  | { readonly type: 'DiscardPush'; readonly push: Id; readonly reason?: string }
  | { readonly type: 'MessagePushees'; readonly push: Id; readonly text: string; readonly state?: InPushState }
  | { readonly type: 'PingmePush'; readonly push: Id; readonly on?: boolean }
  | { readonly type: 'TakeOverPush'; readonly push: Id }
  | { readonly type: 'TickChecklist'; readonly push: Id; readonly item: string; readonly done?: boolean }
  /** Pipeline jobs (the push's pushmaster): a failed, cancelled or interrupted job runs again as a new job; a queued or running one stops. */
  | { readonly type: 'RetryJob'; readonly job: string }
  | { readonly type: 'CancelJob'; readonly job: string; readonly reason?: string }
  /** An external CI's result for a job (runner: external); only a user or token with the ci role. */
  | { readonly type: 'ReportJob'; readonly job: string; readonly state: 'passed' | 'failed'; readonly url?: string };
