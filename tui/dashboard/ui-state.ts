// The dashboard's own state (what is under the cursor, what is selected, which overlay is open, whether
// the server is reachable) and the one reducer that changes it. Pure: no I/O, no clock.
import type { JobDetail, RequestDetail } from '../client.js';

export interface Me {
  readonly name: string;
  readonly pushmaster: boolean;
}

export type Connection =
  | { readonly state: 'connecting' }
  | { readonly state: 'live' }
  | { readonly state: 'stale'; readonly since: string; readonly reason: string; readonly retryInMs: number };

export interface Progress {
  readonly task: 'rebuild' | 'conflicts';
  readonly done: number;
  readonly total: number;
}

/** Questions that need typed text before a command can be sent. */
export type Prompt =
  | { readonly kind: 'remove'; readonly push: number; readonly requests: readonly number[] }
  | { readonly kind: 'stage'; readonly push: number }
  | { readonly kind: 'message'; readonly push: number }
  | { readonly kind: 'comment'; readonly request: number }
  | { readonly kind: 'open-push' }
  | { readonly kind: 'filter' };

/** Questions answered with y/n because the step cannot be undone. */
export type Confirm =
  | { readonly kind: 'certify'; readonly push: number; readonly deploySha: string | null; readonly master: string | null }
  | { readonly kind: 'discard-push'; readonly push: number }
  /** After bless was refused for what --force overrides: bless anyway, knowing which requests are unverified. */
  | { readonly kind: 'bless-force'; readonly push: number; readonly unverified: readonly { readonly id: number; readonly user: string }[]; readonly why: string | null };

export type Mode =
  | { readonly kind: 'board' }
  /** `scroll`: first help line shown, when the keys need more rows than the terminal has. */
  | { readonly kind: 'help'; readonly scroll: number }
  | { readonly kind: 'prompt'; readonly prompt: Prompt; readonly text: string }
  | { readonly kind: 'confirm'; readonly confirm: Confirm }
  /** The pushmaster's pick list of a push's checklist items; `index` is the item under the cursor. */
  | { readonly kind: 'checklist'; readonly push: number; readonly index: number }
  | { readonly kind: 'detail'; readonly request: number; readonly detail: RequestDetail | null; readonly error: string | null; readonly scroll: number }
  | JobLogMode;

/**
 * A job's log, following it live. `session` tells this opening from an earlier one of the same job, so
 * chunks of a stream that was already closed are dropped. `scroll` is the first line shown, or null to
 * follow the end (new lines stay in view); `ended` once the server closed the stream (the job is over).
 */
export interface JobLogMode {
  readonly kind: 'job-log';
  readonly job: string;
  readonly push: number;
  readonly session: number;
  readonly text: string;
  readonly ended: boolean;
  readonly error: string | null;
  readonly detail: JobDetail | null;
  readonly scroll: number | null;
}

/** What a log pane keeps: the end of the log (a job may write megabytes; the pane shows what fits). */
export const LOG_KEEP_CHARS = 200_000;

export interface Status {
  readonly text: string;
  readonly tone: 'info' | 'ok' | 'error';
}

export interface UiState {
  /** Request id under the cursor; kept by id so a refetch that reorders rows does not move it. */
  readonly cursor: number | null;
  readonly selected: readonly number[];
  readonly filter: string;
  /** Which open push is shown when there are several (Tab cycles). */
  readonly pushIndex: number;
  readonly mode: Mode;
  readonly connection: Connection;
  readonly progress: Readonly<Record<number, Progress>>;
  readonly status: Status | null;
  readonly width: number;
  readonly height: number;
  readonly me: Me | null;
  /** Which list the cursor keys move in: the requests, or the shown push's jobs (J switches). */
  readonly focus: 'requests' | 'jobs';
  /**
   * Job id under the jobs cursor, kept by id so rows a board update adds or removes around it do not move
   * it; null: the job that needs attention (see screen.ts attentionJob).
   */
  readonly jobCursor: string | null;
  /** Where that job's row was when it was chosen: the row that takes its place if the job is no longer listed. */
  readonly jobCursorIndex: number | null;
  /** Log panes opened so far: the next one's session. */
  readonly logSessions: number;
}

export type UiAction =
  | { readonly type: 'cursor'; readonly id: number | null }
  | { readonly type: 'select'; readonly ids: readonly number[] }
  | { readonly type: 'filter'; readonly text: string }
  | { readonly type: 'push-index'; readonly index: number }
  | { readonly type: 'mode'; readonly mode: Mode }
  | { readonly type: 'prompt-text'; readonly text: string }
  | { readonly type: 'detail-loaded'; readonly request: number; readonly detail: RequestDetail | null; readonly error: string | null }
  | { readonly type: 'detail-scroll'; readonly scroll: number }
  | { readonly type: 'status'; readonly status: Status | null }
  | { readonly type: 'connection'; readonly connection: Connection }
  | { readonly type: 'progress'; readonly push: number; readonly progress: Progress | null }
  | { readonly type: 'resize'; readonly width: number; readonly height: number }
  | { readonly type: 'me'; readonly me: Me }
  | { readonly type: 'focus'; readonly focus: 'requests' | 'jobs' }
  | { readonly type: 'job-cursor'; readonly id: string | null; readonly index?: number }
  | { readonly type: 'open-job-log'; readonly job: string; readonly push: number }
  | { readonly type: 'job-log-chunk'; readonly session: number; readonly text: string }
  | { readonly type: 'job-log-end'; readonly session: number; readonly error: string | null }
  | { readonly type: 'job-log-detail'; readonly session: number; readonly detail: JobDetail }
  | { readonly type: 'log-scroll'; readonly scroll: number | null };

export const MIN_WIDTH = 80;
export const MIN_HEIGHT = 24;

export function initialUi(size: { width: number; height: number }, me: Me | null = null): UiState {
  return {
    cursor: null,
    selected: [],
    filter: '',
    pushIndex: 0,
    mode: { kind: 'board' },
    connection: { state: 'connecting' },
    progress: {},
    status: null,
    width: size.width,
    height: size.height,
    me,
    focus: 'requests',
    jobCursor: null,
    jobCursorIndex: null,
    logSessions: 0,
  };
}

export function uiReducer(s: UiState, a: UiAction): UiState {
  switch (a.type) {
    case 'cursor':
      return { ...s, cursor: a.id };
    case 'select':
      return { ...s, selected: [...new Set(a.ids)] };
    case 'filter':
      return { ...s, filter: a.text };
    case 'push-index':
      // Another push has other jobs: the jobs cursor starts over; the last answer was about the other push.
      return { ...s, pushIndex: a.index, selected: [], focus: 'requests', jobCursor: null, jobCursorIndex: null, status: null };
    case 'mode':
      return { ...s, mode: a.mode };
    case 'prompt-text':
      return s.mode.kind === 'prompt' ? { ...s, mode: { ...s.mode, text: a.text }, ...(s.mode.prompt.kind === 'filter' && { filter: a.text }) } : s;
    case 'detail-loaded':
      // A late answer for a detail the user already closed is dropped.
      return s.mode.kind === 'detail' && s.mode.request === a.request ? { ...s, mode: { ...s.mode, detail: a.detail, error: a.error } } : s;
    case 'detail-scroll':
      return s.mode.kind === 'detail' || s.mode.kind === 'help' ? { ...s, mode: { ...s.mode, scroll: Math.max(0, a.scroll) } } : s;
    case 'status':
      return { ...s, status: a.status };
    case 'connection':
      return { ...s, connection: a.connection };
    case 'progress': {
      const progress = { ...s.progress };
      if (a.progress) progress[a.push] = a.progress;
      else delete progress[a.push];
      return { ...s, progress };
    }
    case 'resize':
      return { ...s, width: a.width, height: a.height };
    case 'me':
      return { ...s, me: a.me };
    case 'focus':
      return { ...s, focus: a.focus };
    case 'job-cursor':
      return { ...s, jobCursor: a.id, jobCursorIndex: a.index ?? null };
    case 'open-job-log': {
      const session = s.logSessions + 1;
      // Opened from the requests (L on the job that needs attention), the cursor is not pinned to that job:
      // the next L opens whichever job needs attention then (a rebuild's new run), not the old one again.
      const jobCursor = s.focus === 'jobs' ? a.job : s.jobCursor;
      return { ...s, logSessions: session, jobCursor, mode: { kind: 'job-log', job: a.job, push: a.push, session, text: '', ended: false, error: null, detail: null, scroll: null } };
    }
    case 'job-log-chunk': {
      if (s.mode.kind !== 'job-log' || s.mode.session !== a.session) return s;
      let text = s.mode.text + a.text;
      if (text.length > LOG_KEEP_CHARS) {
        // Keep whole lines: cut at the first line break inside the kept part.
        const from = text.length - LOG_KEEP_CHARS;
        const nl = text.indexOf('\n', from);
        text = nl >= 0 ? text.slice(nl + 1) : text.slice(from);
      }
      return { ...s, mode: { ...s.mode, text } };
    }
    case 'job-log-end':
      return s.mode.kind === 'job-log' && s.mode.session === a.session ? { ...s, mode: { ...s.mode, ended: true, error: a.error } } : s;
    case 'job-log-detail':
      return s.mode.kind === 'job-log' && s.mode.session === a.session ? { ...s, mode: { ...s.mode, detail: a.detail } } : s;
    case 'log-scroll':
      return s.mode.kind === 'job-log' ? { ...s, mode: { ...s.mode, scroll: a.scroll === null ? null : Math.max(0, a.scroll) } } : s;
  }
}
