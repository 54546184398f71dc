// Benchmark of one dashboard frame with 200 requests (view-model + Ink render into a fake terminal),
// against the CLI's plain-text board of the same data as the baseline. Budget: ≤ 50 ms per frame.
// Cost grows with the terminal's cells (Ink rebuilds every cell per frame), not with the number of
// requests: the view-model windows the board. Run alone: `npm run build && node -e "import('./dist/bench/dashboard-render.js').then(m => m.run()).then(r => console.table(r))"`.
import { createElement } from 'react';
import type { StatusView } from '../state/status-view.js';
import { renderStatus } from '../tui/cli/render.js';
import { Screen } from '../tui/dashboard/app.js';
import { initialUi, type UiState } from '../tui/dashboard/ui-state.js';
import { buildView } from '../tui/dashboard/screen.js';
import type { BenchRow } from './lib/bench-row.js';

/** Same shape as the rows of bench/run-all (kept here so this module stands on its own). */

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const median = (xs: readonly number[]) => percentile(xs, 50);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

const BUDGET_MS = 50;
const NOW = new Date('2024-05-01T12:00:00Z');

/** A push of `n` requests spread over every in-push state, a fifth of them waiting. */
export function benchBoard(n: number): StatusView {
  const states = ['pickme', 'added', 'staged', 'verified'] as const;
  const at = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();
  const requests = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const inPush = i % 5 !== 0;
    return {
      id: i,
      user: ['alice', 'bob', 'carol', 'dave'][i % 4]!,
      title: `Change number ${i}: make the thing ${i % 3 ? 'faster' : 'safer'} for everyone`,
      description: '',
      ref: `refs/pushreq/change-${i}`,
      sha: i.toString(16).padStart(40, '0'),
      state: inPush ? states[i % 4]! : 'requested',
      push: inPush ? 1 : null,
      tags: i % 7 === 0 ? ['urgent'] : i % 11 === 0 ? ['conflict-pickme'] : [],
      conflicts: i % 11 === 0 ? [{ with: 'master' as const, files: ['a.ts'] }] : [],
      review: i % 2 ? String(1000 + i) : null,
      ticket: i % 3 ? `WEB-${i}` : null,
      watchers: [],
      comments: 0,
      autoPickme: true,
      createdAt: at(i),
      updatedAt: at(i),
      pickedAt: inPush ? at(i) : null,
      acceptedAt: null,
      reason: null,
    };
  });
  const push = {
    id: 1,
    title: 'Benchmark train',
    type: 'regular',
    state: 'accepting',
    pushmaster: 'pm',
    deployBranch: 'deploy/push-1',
    deploySha: 'f'.repeat(40),
    baseSha: 'e'.repeat(40),
    stageEnv: null,
    tag: null,
    requests: requests.filter((r) => r.push !== null).map((r) => r.id),
    pingme: [],
    checklist: [],
    createdAt: at(300),
  };
  return { version: 'a'.repeat(40), pushes: [push], requests } as unknown as StatusView;
}

async function measure(opts: { frames?: number; requests?: number; width?: number; height?: number }): Promise<BenchRow[]> {
  const frames = opts.frames ?? 60;
  const n = opts.requests ?? 200;
  const width = opts.width ?? 120;
  const height = opts.height ?? 40;
  // The test renderer is a dev dependency: loaded only when the benchmark runs.
  const { render } = await import('ink-testing-library');
  const board = benchBoard(n);
  const base: UiState = { ...initialUi({ width, height }, { name: 'pm', pushmaster: true }), connection: { state: 'live' } };
  const first = buildView(board, base, { now: NOW, color: true });
  const nav = first.navigable;

  const inst = render(createElement(Screen, { view: first, width, color: true }));
  const frameMs: number[] = [];
  const modelMs: number[] = [];
  const cliMs: number[] = [];
  try {
    // Warm-up: JIT and Yoga allocations.
    for (let i = 0; i < 5; i++) inst.rerender(createElement(Screen, { view: buildView(board, { ...base, cursor: nav[i]! }, { now: NOW, color: true }), width, color: true }));
    for (let f = 0; f < frames; f++) {
      // Each frame moves the cursor a long way so the window scrolls and most rows change.
      const ui: UiState = { ...base, cursor: nav[(f * 37) % nav.length]!, selected: f % 2 ? [nav[0]!] : [] };
      const t0 = performance.now();
      const view = buildView(board, ui, { now: NOW, color: true });
      const t1 = performance.now();
      inst.rerender(createElement(Screen, { view, width, color: true }));
      const t2 = performance.now();
      modelMs.push(t1 - t0);
      frameMs.push(t2 - t0);
      const t3 = performance.now();
      renderStatus(board);
      cliMs.push(performance.now() - t3);
    }
    if (!inst.lastFrame()?.includes('Benchmark train')) throw new Error('the benchmark frame did not render the board');
  } finally {
    inst.unmount();
  }
  const frame = round(median(frameMs), 2);
  const cli = round(median(cliMs), 3);
  const model = round(median(modelMs), 3);
  return [
    {
      figure: `dashboard frame, ${n} requests, ${width}×${height} (view-model + Ink), median of ${frames}`,
      value: frame,
      unit: 'ms',
      baselineName: 'CLI plain-text board of the same data',
      baseline: cli,
      ratio: cli > 0 ? round(frame / cli, 1) : null,
      target: `≤ ${BUDGET_MS} ms per frame`,
      pass: frame <= BUDGET_MS,
    },
    {
      figure: `dashboard frame p95, ${n} requests`,
      value: round(percentile(frameMs, 95), 2),
      unit: 'ms',
      baselineName: 'budget',
      baseline: BUDGET_MS,
      ratio: round(percentile(frameMs, 95) / BUDGET_MS, 2),
      target: `≤ ${BUDGET_MS} ms per frame`,
      pass: percentile(frameMs, 95) <= BUDGET_MS,
    },
    {
      figure: `dashboard view-model only, ${n} requests`,
      value: model,
      unit: 'ms',
      baselineName: 'none',
      baseline: null,
      ratio: null,
      target: 'a small part of the frame',
      pass: model <= BUDGET_MS / 5,
    },
  ];
}

/**
 * The figures: 200 requests on a 120×40 terminal (the budgeted one), and for comparison the smallest
 * supported terminal and 1000 requests, which shows the cost follows the screen, not the board.
 */
export async function run(opts: { frames?: number } = {}): Promise<BenchRow[]> {
  const main = await measure({ frames: opts.frames, requests: 200, width: 120, height: 40 });
  const small = await measure({ frames: opts.frames, requests: 200, width: 80, height: 24 });
  const many = await measure({ frames: opts.frames, requests: 1000, width: 120, height: 40 });
  return [...main, small[0]!, many[0]!];
}
