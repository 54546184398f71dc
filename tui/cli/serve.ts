// `pushmanager serve`: start the server, say loudly what it is serving and how to use it, stop cleanly.
import { startServer, stderrLog, type StartOptions } from '../../server/main.js';

export async function serve(opts: StartOptions, io: { out: (s: string) => void; err: (s: string) => void }): Promise<void> {
  const running = await startServer({ ...opts, log: stderrLog });
  const { config, url, repo } = running;
  const remote = `${url}/${repo.name}.git`;
  if (config.auth.strategy === 'local' && config.auth.users.some((u) => u.password !== undefined)) {
    stderrLog('warn', `DEMO CREDENTIALS ACTIVE: users ${config.auth.users.filter((u) => u.password !== undefined).map((u) => u.name).join(', ')} have plaintext passwords (allowed only because the server listens on loopback ${config.server.host})`);
  }
  io.out(
    [
      `pushmanager serving ${repo.name} from ${repo.gitDir}${repo.created ? ' (created now, with an initial commit on ' + config.repository.master + ')' : ''}`,
      `  config:   ${config.source}`,
      `  git:      ${remote}`,
      `  clone:    git clone ${remote.replace('://', '://alice:alice@')}`,
      `  request:  git push origin my-branch:refs/pushreq/my-branch -o title="Fix login"`,
      `  board:    PUSHMANAGER_USER=alice PUSHMANAGER_PASSWORD=alice pushmanager status --server ${url}`,
      '',
    ].join('\n'),
  );
  const stop = async (signal: string) => {
    stderrLog('info', `${signal}: shutting down`);
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
