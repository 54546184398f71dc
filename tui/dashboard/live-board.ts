// Keeps the dashboard's board fresh: fetch once, then re-fetch on every `commit` event of the server's
// event stream (bursts coalesced into one fetch, never two in flight), report progress and notices,
// and when the server goes away say so, keep the last board, and reconnect with exponential backoff.
// Refused credentials end it instead: sending them again can only fail (and counts as a guess).
import { describeError } from '../../state/errors.js';
import type { BoardView, WhoAmI } from '../../state/wire.js';
import { CredentialsRefused, ServerRefusal, type ClientCommand, type CommandAnswer, type JobDetail, type RequestDetail } from '../client.js';
import type { Connection, Me, Progress } from './ui-state.js';

/** What the dashboard needs from PushmanagerClient; tests pass a fake with the same methods. */
export interface DashboardClient {
  board(): Promise<BoardView>;
  requestDetail(id: number): Promise<RequestDetail>;
  whoami(): Promise<WhoAmI>;
  command(cmd: ClientCommand): Promise<CommandAnswer>;
  job(id: string): Promise<JobDetail>;
  /** The job's log as it grows, chunk by chunk, until the job ends or the signal aborts. */
  followJobLog(id: string, signal: AbortSignal): AsyncIterable<string>;
  events(onMessage: (kind: string, data: unknown) => void, signal: AbortSignal): Promise<void>;
}

export interface LiveTiming {
  /** Quiet time after a commit event before fetching, so a burst of commits costs one fetch. */
  readonly debounceMs: number;
  /**
   * A second fetch this long after each (re)connect: the stream gives no "subscribed" signal, so a
   * commit landing between the first fetch and the subscription would otherwise be missed.
   */
  readonly settleMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_TIMING: LiveTiming = { debounceMs: 40, settleMs: 300, backoffMs: 250, maxBackoffMs: 8000 };

export interface LiveListener {
  board(view: BoardView): void;
  me(me: Me): void;
  connection(c: Connection): void;
  progress(push: number, p: Progress | null): void;
  notice(text: string): void;
  /** The server refused the credentials; the live board has stopped. Without it, the board just goes stale. */
  refused?(refusal: CredentialsRefused): void;
}

export interface LiveBoard {
  /** Fetch soon (after a command, say); coalesced with pending fetches. */
  refresh(): void;
  stop(): void;
}

/** A refusal as describeError renders it everywhere; anything else by its message. */
export const describeFailure = (e: unknown): string => (e instanceof ServerRefusal ? describeError(e) : e instanceof Error ? e.message : String(e));

export function startLiveBoard(client: DashboardClient, listener: LiveListener, timing: LiveTiming = DEFAULT_TIMING, now: () => Date = () => new Date()): LiveBoard {
  const ctl = new AbortController();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight = false;
  let again = false;
  let streamOpen = false;
  let healthy = false;
  let knowMe = false;
  let staleSince: string | null = null;
  let retryInMs = timing.backoffMs;

  const markLive = () => {
    if (staleSince !== null || !healthy) listener.connection({ state: 'live' });
    staleSince = null;
    healthy = true;
  };
  const markStale = (reason: string) => {
    staleSince ??= now().toISOString();
    listener.connection({ state: 'stale', since: staleSince, reason, retryInMs });
  };

  const refuse = (e: CredentialsRefused) => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    ctl.abort();
    if (listener.refused) listener.refused(e);
    else listener.connection({ state: 'stale', since: staleSince ?? now().toISOString(), reason: e.message, retryInMs: 0 });
  };

  const fetchNow = async (): Promise<void> => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const view = await client.board();
      if (stopped) return;
      listener.board(view);
      if (streamOpen) markLive();
    } catch (e) {
      if (e instanceof CredentialsRefused) refuse(e);
      else if (!stopped) markStale(describeFailure(e));
    } finally {
      inFlight = false;
      if (again && !stopped) {
        again = false;
        schedule(0);
      }
    }
  };
  function schedule(ms: number = timing.debounceMs): void {
    if (timer || stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void fetchNow();
    }, ms);
  }

  const onMessage = (kind: string, data: unknown) => {
    if (stopped) return;
    const m = data as { push?: number; task?: 'rebuild' | 'conflicts'; done?: number; total?: number; text?: string };
    if (kind === 'commit') schedule();
    else if (kind === 'progress' && typeof m.push === 'number' && m.task && typeof m.done === 'number' && typeof m.total === 'number') {
      listener.progress(m.push, m.done >= m.total ? null : { task: m.task, done: m.done, total: m.total });
      // The finished rebuild has moved the deploy SHA: show it.
      if (m.done >= m.total) schedule();
    } else if (kind === 'notice' && typeof m.text === 'string') listener.notice(m.text);
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      ctl.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });

  void (async () => {
    let attempt = 0;
    while (!stopped) {
      streamOpen = true;
      healthy = false;
      if (!knowMe) {
        client.whoami().then(
          (w) => {
            if (stopped || knowMe) return;
            knowMe = true;
            listener.me({ name: w.user.name, pushmaster: w.user.pushmaster });
          },
          () => undefined, // the board fetch reports the same failure
        );
      }
      void fetchNow();
      const settle = setTimeout(() => schedule(0), timing.settleMs);
      let reason: string;
      try {
        await client.events(onMessage, ctl.signal);
        reason = 'the server closed the event stream';
      } catch (e) {
        if (e instanceof CredentialsRefused) refuse(e);
        reason = describeFailure(e);
      }
      clearTimeout(settle);
      streamOpen = false;
      if (stopped) break;
      // A connection that worked starts the backoff over; one that never did doubles it.
      attempt = healthy ? 0 : attempt + 1;
      retryInMs = Math.min(timing.maxBackoffMs, timing.backoffMs * 2 ** attempt);
      markStale(reason);
      await sleep(retryInMs);
    }
  })();

  return {
    refresh: () => schedule(0),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      ctl.abort();
    },
  };
}
