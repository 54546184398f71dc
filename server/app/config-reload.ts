// Config changes while running: the file is watched; a valid edit swaps what can change live (users and
// groups, notification routing); an invalid one is refused with the same message as at start-up and the
// running config stays. Listening address, data dir, repository, channels, integrations and the pipeline need a restart (said so).
import { watch } from 'chokidar';
import { LdapDirectory } from '../auth/ldap-directory.js';
import { DirectoryUnavailableError } from '../auth/directory.js';
import { LocalDirectory, checkBindSafety } from '../auth/local-directory.js';
import type { Authenticator } from '../auth/authenticator.js';
import { loadConfig, type Config } from '../config/config.js';
import type { EventBus } from './event-bus.js';

export interface ConfigReloader {
  /** Re-reads the file now (the watcher calls this); resolves with what happened, for tests and logs. */
  reload(): Promise<{ ok: true; applied: string[]; restart: string[] } | { ok: false; message: string }>;
  current(): Config;
  close(): Promise<void>;
}

export function watchConfig(
  path: string,
  initial: Config,
  deps: { authenticator: Authenticator; setRouting: (c: Config['notifications']) => void; bus: EventBus; log: (level: 'info' | 'warn' | 'error', msg: string) => void },
): ConfigReloader {
  let running = initial;
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const reload: ConfigReloader['reload'] = async () => {
    let next: Config;
    // The LDAP directory of changed settings, built once: checked here, then the one installed.
    let ldap: LdapDirectory | null = null;
    try {
      next = await loadConfig(path);
      if (next.auth.strategy === 'local') {
        const safety = checkBindSafety(running.server.host, next.auth.users);
        if (!safety.ok) throw new Error(safety.message);
      } else if (!same(next.auth, running.auth)) {
        // The start-up's check of the LDAP settings (a wrong bindDn, base or group refuses them, naming the
        // field); an LDAP that cannot be asked now does not hold the change back.
        ldap = new LdapDirectory(next.auth.ldap, { log: deps.log });
        try {
          await ldap.checkSettings();
        } catch (e) {
          if (!(e instanceof DirectoryUnavailableError)) {
            void ldap.close().catch(() => undefined);
            throw e;
          }
          deps.log('warn', `config reload: ${e.message}; the LDAP settings are applied unchecked`);
        }
      }
    } catch (e) {
      const message = `config change refused, the running config stays: ${(e as Error).message}`;
      deps.log('error', message);
      deps.bus.publish({ kind: 'notice', text: message.split('\n')[0]! });
      return { ok: false, message };
    }
    const applied: string[] = [];
    const restart: string[] = [];
    if (!same(next.auth, running.auth)) {
      const old = deps.authenticator.currentDirectory;
      deps.authenticator.setDirectory(next.auth.strategy === 'local' ? new LocalDirectory(next.auth.users) : (ldap ?? new LdapDirectory(next.auth.ldap, { log: deps.log })));
      void old.close().catch(() => undefined);
      applied.push('auth');
    }
    const { irc, xmpp, email, log, outbox, ...routing } = next.notifications;
    const { irc: i0, xmpp: x0, email: e0, log: l0, outbox: o0, ...routing0 } = running.notifications;
    if (!same(routing, routing0)) {
      deps.setRouting(next.notifications);
      applied.push('notifications routing');
    }
    if (!same({ irc, xmpp, email, log, outbox }, { irc: i0, xmpp: x0, email: e0, log: l0, outbox: o0 })) restart.push('notification channels');
    if (!same(next.server, running.server)) restart.push('server');
    if (!same(next.repository, running.repository)) restart.push('repository');
    if (!same(next.integrations, running.integrations)) restart.push('integrations');
    if (!same(next.pipeline, running.pipeline)) restart.push('pipeline');
    // What needs a restart stays as it runs, so a later edit still says so.
    running = { ...next, server: running.server, repository: running.repository, integrations: running.integrations, pipeline: running.pipeline };
    const text = `config reloaded from ${path}: applied ${applied.join(', ') || 'nothing'}${restart.length ? `; restart to apply ${restart.join(', ')}` : ''}`;
    deps.log('info', text);
    deps.bus.publish({ kind: 'notice', text });
    return { ok: true, applied, restart };
  };
  const watcher = watch(path, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 } });
  watcher.on('change', () => void reload());
  watcher.on('add', () => void reload());
  return { reload, current: () => running, close: () => watcher.close() };
}
