// What the company's other systems hear from the train, after each commit: webhooks, and Reviewboard
// "submitted" and a JIRA comment when requests go live. All of it is durable (journaled before it is
// made, retried across restarts, caught up at start-up from a cursor of its own, like notifications)
// and none of it blocks the train: failures are logged and shown.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DomainEvent } from '../../state/events.js';
import type { Board } from '../../state/model.js';
import { catchUpFromCursor, FileCursorStore, LazyCursor, type MetadataCommit } from '../notify/catch-up.js';
import type { Integrations } from '../integrations/integrations-config.js';
import { LIVE_EFFECTS_CURSOR_FILE, LiveEffects, type LiveEffectFailure, type LiveEffectsOptions } from '../integrations/live-effects.js';
import { WEBHOOK_CURSOR_FILE } from '../integrations/webhooks.js';
import type { StateStore } from '../store/state-store.js';
import type { EventBus } from './event-bus.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface IntegrationEffects {
  onCommit(c: { version: string; events: readonly DomainEvent[]; board: Board }): void;
  /** Resolves when every commit handed to onCommit is journaled (not yet sent). */
  flushed(): Promise<void>;
  /** The Reviewboard/JIRA calls' queues (null when neither is configured). */
  readonly live: LiveEffects | null;
  /** Writes the cursor and closes the Reviewboard/JIRA queues (calls not yet made stay journaled). */
  close(): Promise<void>;
}

/** `Reviewboard: marking review 77 submitted for request 7 (push 2)`: what the log and the board's notice say was being done. */
const describeCall = (f: Pick<LiveEffectFailure, 'service' | 'target' | 'about'>): string =>
  f.service === 'reviewboard' ? `Reviewboard: marking review ${f.target} submitted for ${f.about}` : `JIRA: commenting on ${f.target} for ${f.about}`;

export async function startIntegrationEffects(
  i: Integrations,
  deps: { dataDir: string; store: StateStore; bus: EventBus; log: Log; live?: Partial<Pick<LiveEffectsOptions, 'retry' | 'timers' | 'random' | 'now'>> },
): Promise<IntegrationEffects> {
  // Read once, when a catch-up first needs it: a read started here and awaited only later (or never, with
  // nothing configured) was a rejection nobody handled when the store could not be read, which ends Node 20.
  let snapshot: ReturnType<StateStore['read']> | undefined;
  const snapAtStart = () => (snapshot ??= deps.store.read());
  // The board as it is now: what these calls read of a request (review, ticket, SHA) no longer changes once it is live.
  const catchUp = async (cursor: FileCursorStore, enqueue: (c: MetadataCommit) => Promise<number>, what: string) =>
    catchUpFromCursor({ cursor, snapshot: await snapAtStart(), eventsSince: (v) => deps.store.eventsSince(v), enqueue, what, log: deps.log });

  const cursor = new FileCursorStore(deps.dataDir, WEBHOOK_CURSOR_FILE);
  if (i.webhooks) {
    const webhooks = i.webhooks;
    // A receiver that is down or refuses: the operator reads it in the log (the first try, every tenth,
    // and the giving up), not only in the journal; a journal that cannot record a status is an error.
    webhooks.on('failed', (e) => {
      if (e.attempts === 1 || e.attempts % 10 === 0 || !e.willRetry)
        deps.log(e.willRetry ? 'warn' : 'error', `webhooks: delivering ${e.id} to ${e.url} failed (try ${e.attempts}): ${e.error}${e.willRetry ? '; trying again' : '; given up (a refusal): fix the receiver'}`);
    });
    webhooks.on('journal-error', (e) => deps.log('error', `webhooks: the journal of ${e.url} could not record a delivery's status (${e.error.message}); after a restart it may be sent again`));
    await catchUp(cursor, (c) => webhooks.enqueueCommit(c), 'webhooks');
  }

  const liveCursorStore = new FileCursorStore(deps.dataDir, LIVE_EFFECTS_CURSOR_FILE);
  let live: LiveEffects | null = null;
  if (i.reviewboard || i.jira) {
    live = await LiveEffects.open(
      { dir: join(deps.dataDir, 'integrations'), reviewboard: i.reviewboard, jira: i.jira, ...deps.live },
      {
        failed: (f) => {
          const what = describeCall(f);
          if (!f.willRetry) {
            // A refusal (a wrong token, no such review or issue): trying again cannot help. The call stays listed as failed.
            deps.log('error', `${what}: refused, not tried again: ${f.error}`);
            deps.bus.publish({ kind: 'notice', text: `${what} was refused: ${f.error}` });
            return;
          }
          deps.log('warn', `${what}: try ${f.attempts} failed, trying again at ${f.nextAttemptAt ?? '?'}: ${f.error}`);
          if (f.attempts === 1) deps.bus.publish({ kind: 'notice', text: `${what} failed; trying again until it is done: ${f.error}` });
        },
        delivered: () => undefined,
        journalError: (service, e) => deps.log('error', `integrations: the ${service} journal could not record a call's status (${e.message}); after a restart that call may be made again`),
      },
    );
    const queues = live;
    // A start-up that fails here (the store cannot be read) leaves no open journals or retry timers behind.
    const caught = await catchUp(liveCursorStore, (c) => queues.enqueueCommit(c), 'Reviewboard/JIRA calls').catch(async (e: unknown) => {
      await queues.close();
      throw e;
    });
    if (caught?.enqueued) deps.log('info', `integrations: ${caught.enqueued} Reviewboard/JIRA call(s) of ${caught.commits} commit(s) made while the server was down queued`);
  } else {
    // Nothing to call: without this, a cursor left from an earlier configuration would replay every
    // certification since then when Reviewboard or JIRA is configured again.
    await rm(liveCursorStore.file, { force: true });
  }

  const warn = (what: string) => (e: unknown) => {
    deps.log('warn', `${what}: ${(e as Error).message}`);
    deps.bus.publish({ kind: 'notice', text: `${what}: ${(e as Error).message}` });
  };
  // Written behind the commits (issue 17): whatever is after it is enqueued again at start-up, and keys made once drop it.
  const liveCursor = new LazyCursor(liveCursorStore, 1000, warn('integrations: writing the cursor'));
  let chain: Promise<unknown> = Promise.resolve();
  return {
    live,
    onCommit(c) {
      const webhooks = i.webhooks;
      if (webhooks) chain = chain.then(() => webhooks.enqueueCommit({ sha: c.version, events: c.events, board: c.board }).then(() => cursor.write(c.version))).catch(warn('webhooks'));
      const queues = live;
      if (queues) {
        chain = chain
          .then(() => queues.enqueueCommit({ sha: c.version, events: c.events, board: c.board }))
          .then(() => liveCursor.advance(c.version))
          .catch(warn('Reviewboard/JIRA: journaling the calls of a certification'));
      }
    },
    flushed: () => chain.then(() => undefined),
    async close() {
      await chain;
      await liveCursor.flush();
      await live?.close();
    },
  };
}
