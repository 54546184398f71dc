// What the company's other systems hear from the train, after each commit: webhooks (durable, caught up at
// start-up like notifications), Reviewboard "submitted" and a JIRA comment when requests go live.
// None of it blocks the train: failures are logged and shown; webhooks retry from their queue.
import type { DomainEvent } from '../../state/events.js';
import type { Board } from '../../state/model.js';
import { FileCursorStore } from '../notify/catch-up.js';
import type { Integrations } from '../integrations/integrations-config.js';
import { WEBHOOK_CURSOR_FILE, catchUpWebhooks } from '../integrations/webhooks.js';
import { StoreError, type StateStore } from '../store/state-store.js';
import type { EventBus } from './event-bus.js';

type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface IntegrationEffects {
  onCommit(c: { version: string; events: readonly DomainEvent[]; board: Board }): void;
  flushed(): Promise<void>;
}

export async function startIntegrationEffects(i: Integrations, deps: { dataDir: string; store: StateStore; bus: EventBus; log: Log }): Promise<IntegrationEffects> {
  const cursor = new FileCursorStore(deps.dataDir, WEBHOOK_CURSOR_FILE);
  if (i.webhooks) {
    const start = await cursor.read();
    const snap = await deps.store.read();
    if (start === null) {
      if (snap.version) await cursor.write(snap.version);
    } else {
      const commits = (async function* () {
        for await (const c of deps.store.eventsSince(start)) yield { sha: c.version, events: c.events, board: snap.board };
      })();
      try {
        await catchUpWebhooks({ dispatcher: i.webhooks, cursor, commits });
      } catch (e) {
        // A restored backup: the cursor names a commit newer than the branch, whose events were sent then.
        if (!(e instanceof StoreError && e.code === 'store-unknown-version') || !snap.version) throw e;
        deps.log('warn', `webhooks: the catch-up cursor ${start.slice(0, 10)} is not on the metadata branch (restored from a backup?); nothing is sent again, webhooks go on from ${snap.version.slice(0, 10)}`);
        await cursor.write(snap.version);
      }
    }
  }
  const warn = (what: string) => (e: unknown) => {
    deps.log('warn', `${what}: ${(e as Error).message}`);
    deps.bus.publish({ kind: 'notice', text: `${what}: ${(e as Error).message}` });
  };
  let chain: Promise<unknown> = Promise.resolve();
  return {
    onCommit(c) {
      const webhooks = i.webhooks;
      if (webhooks) chain = chain.then(() => webhooks.enqueueCommit({ sha: c.version, events: c.events, board: c.board }).then(() => cursor.write(c.version))).catch(warn('webhooks'));
      for (const e of c.events) {
        if (e.type !== 'PushCertified') continue;
        for (const id of e.requests) {
          const r = c.board.requests[id];
          if (!r) continue;
          if (r.review && i.reviewboard) void i.reviewboard.markSubmitted(r.review).catch(warn(`Reviewboard: marking review ${r.review} submitted`));
          if (r.ticket && i.jira)
            void i.jira.comment(r.ticket, `Request ${r.id} "${r.title}" by ${r.user} is live in push ${e.push} (tag ${e.tag}).`).catch(warn(`JIRA: commenting on ${r.ticket}`));
        }
      }
    },
    flushed: () => chain.then(() => undefined),
  };
}

