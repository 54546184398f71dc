// A real Pushmanager server in its own process (so a test can SIGKILL it mid-job) on a pipeline config,
// with a clone as alice: what every pipeline end-to-end test starts from.
import { join } from 'node:path';
import { ServerProcess } from '../../bench/lib/proc.js';
import { gitOk } from './server-fixture.js';

/** Starts the server on `config` (a file path) with its data under `dir`, and clones it as alice into `dir/alice`. */
export async function startPipelineServer(dir: string, config: string): Promise<{ server: ServerProcess; work: string }> {
  const server = new ServerProcess({ dataDir: join(dir, 'data'), config });
  try {
    await server.start();
    const work = join(dir, 'alice');
    await gitOk(dir, ['clone', '-q', `${server.url.replace('://', '://alice:alice@')}/main.git`, work]);
    await gitOk(work, ['config', 'user.email', 'alice@example.com']);
    await gitOk(work, ['config', 'user.name', 'alice']);
    return { server, work };
  } catch (e) {
    await server.kill(); // the caller never got it to stop: stop it here, by its PID
    throw e;
  }
}
