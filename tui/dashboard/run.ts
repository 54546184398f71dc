// Entry of `pushmanager tui`. On a terminal: the live, full-screen dashboard (alternate screen, so the
// shell's scrollback is left as it was). Without one (pipe, CI, cron): the board printed once, exit 0.
import { CredentialsRefused, PushmanagerClient, type ClientOptions } from '../client.js';
import { renderStatus } from '../cli/render.js';
import { terminalPrompt, withCredentials } from '../credential-prompt.js';

const ENTER_ALT_SCREEN = '\u001b[?1049h\u001b[H';
const LEAVE_ALT_SCREEN = '\u001b[?1049l';

export async function runDashboard(opts: ClientOptions, io: { out: (s: string) => void }): Promise<void> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    io.out(renderStatus(await new PushmanagerClient(opts).board()));
    return;
  }
  // Credentials are settled before the full screen: refused ones are asked for again here (a few
  // times), never resent in a loop; later refusals (a revoked token) end the dashboard.
  const { options } = await withCredentials(opts, terminalPrompt(), async (o) => {
    try {
      await new PushmanagerClient(o).whoami();
    } catch (e) {
      // Anything but refused credentials (the server is down, say) the live board shows, and heals.
      if (e instanceof CredentialsRefused) throw e;
    }
  });
  const client = new PushmanagerClient(options);
  // React's development build costs a third more per frame; a terminal user never needs its checks.
  process.env.NODE_ENV ??= 'production';
  // Loaded only here so the printed board without a terminal never pays for React and Ink.
  const [{ createElement }, { render }, { Dashboard }] = await Promise.all([import('react'), import('ink'), import('./app.js')]);
  // NO_COLOR (https://no-color.org): present and not empty turns colours off.
  const color = !process.env.NO_COLOR && process.stdout.hasColors?.() !== false;
  process.stdout.write(ENTER_ALT_SCREEN);
  try {
    const app = render(createElement(Dashboard, { client, color }), { exitOnCtrlC: false, patchConsole: true });
    await app.waitUntilExit();
  } finally {
    process.stdout.write(LEAVE_ALT_SCREEN);
  }
}
