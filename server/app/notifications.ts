// Notifications wired to the state: after each metadata commit, its events become deliveries in the
// durable outbox; at start-up, commits made while deliveries were not yet journaled are caught up from
// the metadata branch (each commit carries its events), so a crash between commit and enqueue loses nothing.
import { join } from 'node:path';
import type { Board } from '../../state/model.js';
import type { DomainEvent } from '../../state/events.js';
import { describeFailure } from '../notify/notify-error.js';
import { catchUpFromCursor, FileCursorStore, LazyCursor } from '../notify/catch-up.js';
import { routeCommit } from '../../state/notify/routing.js';
import { createNotifiers, routingConfigFrom, type NotifyConfig } from '../notify/notify-config.js';
import { Outbox } from '../notify/outbox.js';
import type { StateStore } from '../store/state-store.js';
import type { EventBus } from './event-bus.js';

export interface Notifications {
  readonly outbox: Outbox;
  /** Call after every commit, in commit order. Never throws; failures are logged and caught up later. */
  onCommit(c: { version: string; events: readonly DomainEvent[]; board: Board }): void;
  /** New routing (who hears what, aliases, notify-all) from a reloaded config; channels need a restart. */
  setRouting(cfg: NotifyConfig): void;
  /** Resolves when every commit seen so far is journaled in the outbox. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

export async function startNotifications(
  cfg: NotifyConfig,
  deps: { dataDir: string; store: StateStore; bus: EventBus; log: (level: 'info' | 'warn' | 'error', msg: string) => void },
): Promise<Notifications> {
  const dir = join(deps.dataDir, 'notify');
  const notifiers = createNotifiers(cfg, { dataDir: deps.dataDir });
  for (const n of notifiers) {
    // A chat server that is down or refuses our login must not stop the train: say so, retry later.
    await n.start?.().catch((e: unknown) => deps.log('error', `notifications: ${n.channel} did not start: ${describeFailure(e)}; messages wait in the outbox and are retried`));
  }
  const outbox = await Outbox.open({ dir, notifiers, retry: cfg.outbox.retry, sendTimeoutMs: cfg.outbox.sendTimeoutMs });
  outbox.on('failed', (e: { delivery: { channel: string; key: string }; error: string; willRetry: boolean }) =>
    deps.bus.publish({ kind: 'notice', text: `${e.delivery.channel} delivery ${e.willRetry ? 'failed, will retry' : 'gave up'}: ${e.error}` }),
  );
  const cursor = new FileCursorStore(dir);
  let routing = routingConfigFrom(cfg, { cli: 'pushmanager' });

  const r = await catchUpFromCursor({
    cursor,
    snapshot: await deps.store.read(),
    eventsSince: (v) => deps.store.eventsSince(v),
    enqueue: (c) => outbox.enqueue(routeCommit(c.sha, c.events, c.board, routing)),
    what: 'notifications',
    log: deps.log,
  });
  if (r?.commits) deps.log('warn', `notifications: caught up ${r.commits} commit(s) made before the last stop, ${r.enqueued} delivery(ies) queued`);

  // After each commit its deliveries are journaled at once; the cursor follows at most once a second (see
  // LazyCursor). A commit whose enqueue failed stops the cursor there, so the next start catches it up.
  const lazy = new LazyCursor(cursor, 1000, (e) => deps.log('warn', `notifications: could not write the catch-up cursor: ${describeFailure(e)}`));
  let stuck = false;
  let chain: Promise<unknown> = Promise.resolve();
  return {
    outbox,
    onCommit(c) {
      chain = chain
        .then(async () => {
          await outbox.enqueue(routeCommit(c.version, c.events, c.board, routing));
          if (!stuck) lazy.advance(c.version);
        })
        .catch((e: unknown) => {
          stuck = true;
          deps.log('error', `notifications: could not queue deliveries for ${c.version}: ${describeFailure(e)} (caught up at next start)`);
        });
    },
    setRouting(next) {
      routing = routingConfigFrom(next, { cli: 'pushmanager' });
    },
    flushed: () => chain.then(() => undefined),
    async close() {
      await chain.catch(() => undefined);
      await lazy.flush();
      await outbox.close();
    },
  };
}
