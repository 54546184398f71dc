// Entry of `pushmanager tui`. Without a terminal it prints the board once and exits 0.
import { PushmanagerClient, type ClientOptions } from '../client.js';
import { renderStatus } from '../cli/render.js';

export async function runDashboard(opts: ClientOptions, io: { out: (s: string) => void }): Promise<void> {
  const client = new PushmanagerClient(opts);
  io.out(renderStatus(await client.board()));
}
