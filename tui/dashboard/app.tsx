// The Ink components: render the view-model's lines and turn keys into the keymap's effects (UI
// changes, API commands through the client, detail loads). No decisions about the board live here.
import { Box, Text, useApp, useInput, useStdin, useStdout, type Key } from 'ink';
import { memo, useCallback, useEffect, useMemo, useRef, useState, type ReactElement } from 'react';
import type { StatusView } from '../../state/status-view.js';
import { ServerRefusal } from '../client.js';
import { afterAnswer, afterRefusal, eachKey, interpretKey, type Effect, type Send } from './keymap.js';
import { DEFAULT_TIMING, describeFailure, startLiveBoard, type DashboardClient, type LiveBoard, type LiveTiming } from './live-board.js';
import { initialUi, uiReducer, type UiAction, type UiState } from './ui-state.js';
import { changesForMe } from './my-changes.js';
import { buildView, type DashboardView } from './screen.js';
import type { Line, Tone } from './text.js';

// SGR foreground codes per tone. Lines are sent to Ink as one pre-styled string each: one Text node
// per line instead of one per segment keeps a full frame cheap (see bench/dashboard-render.ts).
const TONE_SGR: Record<Tone, string | null> = {
  plain: null,
  dim: '90',
  heading: '36',
  accent: '33',
  urgent: '31',
  conflict: '35',
  mine: '32',
  ok: '32',
  error: '31',
  warn: '33',
};

/** A line as text with SGR styles; with colours off (NO_COLOR) plain text, which carries the meaning alone. */
export function styledLine(line: Line, color: boolean): string {
  if (!color) return line.segs.map((s) => s.text).join('');
  let out = '';
  for (const s of line.segs) {
    const codes: string[] = [];
    if (s.bold) codes.push('1');
    if (s.inverse) codes.push('7');
    const fg = s.tone ? TONE_SGR[s.tone] : null;
    if (fg) codes.push(fg);
    // User text reaching here went through safeLine: these are the only escape sequences in the line.
    out += codes.length ? `\u001b[${codes.join(';')}m${s.text}\u001b[0m` : s.text;
  }
  return out;
}

const sameLine = (a: { line: Line; color: boolean }, b: { line: Line; color: boolean }) =>
  a.color === b.color &&
  a.line.segs.length === b.line.segs.length &&
  a.line.segs.every((s, i) => {
    const t = b.line.segs[i]!;
    return s.text === t.text && s.tone === t.tone && s.bold === t.bold && s.inverse === t.inverse;
  });

/** One screen line; re-rendered only when its content changed. */
export const ScreenLine = memo(function ScreenLine({ line, color }: { line: Line; color: boolean }): ReactElement {
  return <Text wrap="truncate">{styledLine(line, color)}</Text>;
}, sameLine);

/** The whole frame from a view: what the benchmark renders, and what Dashboard renders. */
export function Screen({ view, width, color }: { view: DashboardView; width: number; color: boolean }): ReactElement {
  return (
    <Box flexDirection="column" width={width}>
      {view.lines.map((l) => (
        <ScreenLine key={l.key} line={l} color={color} />
      ))}
    </Box>
  );
}

export interface DashboardProps {
  readonly client: DashboardClient;
  /** Fixed clock for tests; ages follow the wall clock otherwise. */
  readonly now?: () => Date;
  /** Fixed size for tests; otherwise the terminal's, following resizes. */
  readonly width?: number;
  readonly height?: number;
  readonly color?: boolean;
  readonly timing?: Partial<LiveTiming>;
  readonly onQuit?: () => void;
}

export function Dashboard(props: DashboardProps): ReactElement {
  const { client, color = true } = props;
  const { stdout } = useStdout();
  const { isRawModeSupported } = useStdin();
  const { exit } = useApp();
  const size = useCallback(() => ({ width: props.width ?? stdout.columns ?? 80, height: props.height ?? stdout.rows ?? 24 }), [props.width, props.height, stdout]);

  // Refs are the source of truth so two keys arriving before a re-render both see the latest state.
  const uiRef = useRef<UiState>(initialUi(size()));
  const boardRef = useRef<StatusView | null>(null);
  const [ui, setUi] = useState(uiRef.current);
  const [board, setBoard] = useState<StatusView | null>(null);
  const [tick, setTick] = useState(0);
  const liveRef = useRef<LiveBoard | null>(null);

  const apply = useCallback((a: UiAction) => {
    uiRef.current = uiReducer(uiRef.current, a);
    setUi(uiRef.current);
  }, []);
  const nowFn = props.now;
  const viewOf = useCallback((b: StatusView | null, u: UiState) => buildView(b, u, { now: nowFn ? nowFn() : new Date(), color }), [nowFn, color]);

  useEffect(() => {
    const live = startLiveBoard(
      client,
      {
        board: (v) => {
          const prev = boardRef.current;
          const me = uiRef.current.me;
          const news = prev && me ? changesForMe(prev, v, me) : null;
          if (news) apply({ type: 'status', status: { text: news, tone: 'info' } });
          boardRef.current = v;
          setBoard(v);
        },
        me: (me) => apply({ type: 'me', me }),
        connection: (connection) => apply({ type: 'connection', connection }),
        progress: (push, progress) => apply({ type: 'progress', push, progress }),
        notice: (text) => apply({ type: 'status', status: { text, tone: 'info' } }),
        // The dashboard ends with the reason (runDashboard rethrows it): retrying could only fail again.
        refused: (refusal) => exit(refusal),
      },
      { ...DEFAULT_TIMING, ...props.timing },
    );
    liveRef.current = live;
    return () => live.stop();
    // The timing is read once: a new client is a new connection, new timings are not.
  }, [client, apply]);

  useEffect(() => {
    if (props.width !== undefined && props.height !== undefined) return;
    const onResize = () => apply({ type: 'resize', ...size() });
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout, size, apply, props.width, props.height]);

  // A running job's elapsed time is shown to the second: tick each second while one is on screen.
  const running = useMemo(() => (board?.pushes ?? []).some((p) => Array.isArray(p.jobs) && p.jobs.some((j) => j.state === 'running')), [board]);
  useEffect(() => {
    if (nowFn) return;
    // Ages are in minutes at best: a slow tick, not a poll (the board is only fetched on events).
    const t = setInterval(() => setTick((n) => n + 1), running ? 1000 : 30_000);
    return () => clearInterval(t);
  }, [nowFn, running]);

  // The open log pane follows its job: one stream per opening (its session), closed with the pane.
  const logSession = ui.mode.kind === 'job-log' ? ui.mode.session : null;
  const logJob = ui.mode.kind === 'job-log' ? ui.mode.job : null;
  useEffect(() => {
    if (logSession === null || logJob === null) return;
    const ctl = new AbortController();
    const session = logSession;
    const detail = () =>
      client.job(logJob).then(
        (d) => !ctl.signal.aborted && apply({ type: 'job-log-detail', session, detail: d }),
        () => undefined, // the stream reports the same failure
      );
    void detail();
    void (async () => {
      try {
        for await (const text of client.followJobLog(logJob, ctl.signal)) {
          if (ctl.signal.aborted) return;
          apply({ type: 'job-log-chunk', session, text });
        }
        if (ctl.signal.aborted) return;
        apply({ type: 'job-log-end', session, error: null });
        // The job is over: how it ended (exit code, reason) is in its detail now.
        void detail();
      } catch (e) {
        if (!ctl.signal.aborted) apply({ type: 'job-log-end', session, error: describeFailure(e) });
      }
    })();
    return () => ctl.abort();
  }, [logSession, logJob, client, apply]);

  const send = useCallback(
    async (s: Send) => {
      apply({ type: 'status', status: { text: `${s.label}…`, tone: 'info' } });
      // The same sentences the CLI prints, from each command's answer.
      const said: string[] = [];
      for (const cmd of s.commands) {
        try {
          const answer = await client.command(cmd);
          const after = afterAnswer(cmd, answer, s.label, uiRef.current.mode.kind === 'job-log');
          for (const a of after.actions) apply(a);
          said.push(after.text);
        } catch (e) {
          const follow = e instanceof ServerRefusal ? afterRefusal(cmd, e, boardRef.current) : null;
          if (follow) for (const a of follow) apply(a);
          else apply({ type: 'status', status: { text: `${said.length ? `${said.join('; ')}; then ` : ''}${s.label}: refused: ${describeFailure(e)}`, tone: 'error' } });
          liveRef.current?.refresh();
          return;
        } finally {
          // The command's build is over, finished or refused: a refused one never reports its last step.
          if ('push' in cmd && typeof cmd.push === 'number') apply({ type: 'progress', push: cmd.push, progress: null });
        }
      }
      apply({ type: 'status', status: { text: said.join('; '), tone: 'ok' } });
      liveRef.current?.refresh();
    },
    [client, apply],
  );

  const run = useCallback(
    (e: Effect) => {
      for (const a of e.actions) apply(a);
      if (e.send) void send(e.send);
      if (e.load !== undefined) {
        const id = e.load;
        client.requestDetail(id).then(
          (detail) => apply({ type: 'detail-loaded', request: id, detail, error: null }),
          (err: unknown) => apply({ type: 'detail-loaded', request: id, detail: null, error: describeFailure(err) }),
        );
      }
      if (e.quit) {
        liveRef.current?.stop();
        props.onQuit?.();
        exit();
      }
    },
    [apply, send, client, exit, props],
  );

  useInput(
    (input: string, key: Key) => {
      // Keys that arrived together are applied one by one, each on the state the one before left.
      eachKey(
        input,
        key,
        () => uiRef.current.mode.kind === 'prompt',
        (i, k) => {
          const u = uiRef.current;
          const e = interpretKey(i, k, u, viewOf(boardRef.current, u));
          run(e);
          return !e.quit;
        },
      );
    },
    { isActive: isRawModeSupported === true },
  );

  const view = useMemo(() => viewOf(board, ui), [board, ui, tick, viewOf]);
  return <Screen view={view} width={ui.width} color={color} />;
}
