// The Dashboard rendered by Ink into a fake terminal (ink-testing-library), as the Ink tests drive it:
// fast timings, a fixed clock, keys typed one at a time (as a person would, each handled before the next).
import { render } from 'ink-testing-library';
import { Dashboard } from '../../tui/dashboard/app.js';
import { type FakeClient, now, tick, waitFor } from './fixtures.js';

export const FAST = { debounceMs: 5, settleMs: 20, backoffMs: 20, maxBackoffMs: 80 };

/** Renders the dashboard on `client` at `size`; its unmount goes into `mounted`, which the test file's afterEach empties. */
export function showDashboard(client: FakeClient, size: { width: number; height: number }, mounted: (() => void)[], extra: { onQuit?: () => void } = {}) {
  const r = render(<Dashboard client={client} now={now} width={size.width} height={size.height} color={false} timing={FAST} {...extra} />);
  mounted.push(r.unmount);
  const frame = () => r.lastFrame() ?? '';
  const type = async (...keys: string[]) => {
    for (const k of keys) {
      r.stdin.write(k);
      await tick(5);
    }
  };
  return { r, frame, type, until: (ok: (f: string) => boolean) => waitFor(frame, ok) };
}
