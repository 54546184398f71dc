// Issue 13 item 8: the live board stops at the first refused credential and says so, instead of
// reconnecting with the same credentials forever (each try counted as a guess by the server's throttle).
import { describe, expect, it } from 'vitest';
import { CredentialsRefused, ServerUnreachable } from '../../tui/client.js';
import { startLiveBoard, type DashboardClient, type LiveListener } from '../../tui/dashboard/live-board.js';
import { until } from '../helpers/until.js';

const FAST = { debounceMs: 1, settleMs: 5, backoffMs: 5, maxBackoffMs: 10 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every call fails with `fail()`; counts the calls. */
function failingClient(fail: () => Error): DashboardClient & { calls: number } {
  const c = {
    calls: 0,
    async board() {
      c.calls++;
      throw fail();
    },
    async requestDetail(): Promise<never> {
      throw fail();
    },
    async whoami() {
      c.calls++;
      throw fail();
    },
    async command(): Promise<never> {
      throw fail();
    },
    async job(): Promise<never> {
      throw fail();
    },
    // eslint-disable-next-line require-yield
    async *followJobLog(): AsyncGenerator<string> {
      throw fail();
    },
    async events() {
      c.calls++;
      throw fail();
    },
  };
  return c;
}

function recorder(): LiveListener & { refusals: string[]; stale: number } {
  const r = {
    refusals: [] as string[],
    stale: 0,
    board: () => undefined,
    me: () => undefined,
    connection: (c: { state: string }) => void (c.state === 'stale' && r.stale++),
    progress: () => undefined,
    notice: () => undefined,
    refused: (e: CredentialsRefused) => void r.refusals.push(e.message),
  };
  return r;
}

describe('live board and refused credentials', () => {
  it('stops at the first refusal and reports it once; no request follows', async () => {
    const client = failingClient(() => new CredentialsRefused(401, 'bad-credentials', 'wrong user or password for pm at http://127.0.0.1:7080'));
    const listener = recorder();
    const live = startLiveBoard(client, listener, FAST);
    await until('the refusal', () => listener.refusals.length > 0, 10_000);
    const calls = client.calls;
    await sleep(150); // up to thirty backoff periods: a retrying board would have called again and again
    live.stop();
    expect(listener.refusals).toEqual(['wrong user or password for pm at http://127.0.0.1:7080']);
    expect(client.calls).toBe(calls);
    expect(calls).toBeLessThanOrEqual(3); // the first round: whoami, board, events
  });

  it('still reconnects when the server is only unreachable', async () => {
    const client = failingClient(() => new ServerUnreachable('cannot reach the pushmanager server at http://127.0.0.1:7080: ECONNREFUSED'));
    const listener = recorder();
    const live = startLiveBoard(client, listener, FAST);
    // Rounds, not a time window: how many backoff periods fit in 150 ms is the machine's business
    // (a loaded CI box fitted two). A board that gave up would never get to a third round.
    await until('three failed rounds', () => listener.stale > 2 && client.calls > 6, 10_000);
    live.stop();
    expect(listener.refusals).toEqual([]);
  });
});
