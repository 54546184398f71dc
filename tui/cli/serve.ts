// `pushmanager serve`: start the server, say loudly what it is serving and how to use it, stop cleanly.
import { startServer, stderrLog, type StartOptions } from '../../server/main.js';

export async function serve(opts: StartOptions, io: { out: (s: string) => void; err: (s: string) => void }): Promise<void> {
  const running = await startServer({ ...opts, log: stderrLog });
  const { config, url, repo } = running;
  const remote = `${url}/${repo.name}.git`;
  if (config.auth.strategy === 'local' && config.auth.users.some((u) => u.password !== undefined)) {
    stderrLog('warn', `DEMO CREDENTIALS ACTIVE: users ${config.auth.users.filter((u) => u.password !== undefined).map((u) => u.name).join(', ')} have plaintext passwords (allowed only because the server listens on loopback ${config.server.host})`);
  }
  // The demo's user (password = name) is shown ready to paste; with real users, git and the CLI ask.
  const demo = config.auth.strategy === 'local' ? config.auth.users.find((u) => u.password !== undefined && u.password === u.name) : undefined;
  io.out(
    [
      `pushmanager serving ${repo.name} from ${repo.gitDir}${repo.created ? ' (created now, with an initial commit on ' + config.repository.master + ')' : ''}`,
      `  config:   ${config.source}`,
      `  git:      ${remote}`,
      `  clone:    git clone ${remote.replace('://', demo ? `://${demo.name}:${demo.name}@` : '://USER@')}${demo ? '' : '   (git asks for the password)'}`,
      `  request:  git push origin my-branch:refs/pushreq/my-branch -o title="Fix login"`,
      demo
        ? `  board:    PUSHMANAGER_USER=${demo.name} PUSHMANAGER_PASSWORD=${demo.name} pushmanager status --server ${url}`
        : `  board:    pushmanager login --server ${url}   (then: pushmanager status --server ${url})`,
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
