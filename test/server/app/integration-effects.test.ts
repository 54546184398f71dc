// The integration effects at start-up: the store is read for the catch-up only, and a read that fails is
// that start-up's error, never a rejection nobody awaits (Node 20 ends the process on one).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../server/app/event-bus.js';
import { startIntegrationEffects } from '../../../server/app/integration-effects.js';
import type { Integrations } from '../../../server/integrations/integrations-config.js';
import { MemoryStateStore } from '../../../server/store/memory-state-store.js';
import type { Snapshot } from '../../../server/store/state-store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';
import { WebhookDispatcher } from '../../../server/integrations/webhooks.js';
import type { DomainEvent } from '../../../state/events.js';
import { closedPort, startRecordingServer } from '../integrations/recording-server.js';

/** A store whose metadata branch cannot be read (a broken repository). */
class UnreadableStore extends MemoryStateStore {
  override read(): Promise<Snapshot> {
    return Promise.reject(new Error('git: the metadata branch cannot be read'));
  }
}

const NONE = { webhooks: null, reviewboard: null, jira: null } as unknown as Integrations;

describe('startIntegrationEffects', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  afterAll(removeTempDirs);

  it('with nothing to call, a store that cannot be read leaves no unhandled rejection behind', async () => {
    const effects = await startIntegrationEffects(NONE, { dataDir: await tempDir(), store: new UnreadableStore(), bus: new EventBus(), log: () => undefined });
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    expect(effects.live).toBeNull();
    await effects.close();
  });

  it('a webhook receiver that is down or refuses is said in the log: the first try, and the giving up on a refusal', async () => {
    const down = `http://127.0.0.1:${await closedPort()}/hook`;
    const refusing = await startRecordingServer(() => ({ status: 404 }));
    try {
      const webhooks = await WebhookDispatcher.open({ receivers: [{ url: down, secret: 's3cret-s3cret-s3cret' }, { url: `${refusing.url}/hook`, secret: 's3cret-s3cret-s3cret' }], dir: await tempDir(), retry: { baseMs: 10, maxMs: 20 } });
      const lines: string[] = [];
      const store = new MemoryStateStore();
      const effects = await startIntegrationEffects({ ...NONE, webhooks } as Integrations, { dataDir: await tempDir(), store, bus: new EventBus(), log: (level, msg) => lines.push(`${level} ${msg}`) });
      const { board } = await store.read();
      effects.onCommit({ version: 'c0ffee', board, events: [{ type: 'PushOpened', at: '2026-01-01T00:00:00.000Z', actor: 'pm', push: 1, title: 'Tue', pushType: 'regular' } as unknown as DomainEvent] });
      await until('both failures in the log', () => lines.some((l) => l.includes(down)) && lines.some((l) => l.includes('given up')));
      expect(lines.find((l) => l.includes(down))).toMatch(new RegExp(`^warn webhooks: delivering c0ffee:0 to ${down.replace(/[.]/g, '\\.')} failed \\(try 1\\): .*cannot reach.*; trying again$`));
      expect(lines.find((l) => l.includes('given up'))).toMatch(/^error webhooks: delivering c0ffee:0 to http:\/\/127\.0\.0\.1:\d+\/hook failed \(try 1\): .*404.*; given up \(a refusal\): fix the receiver$/);
      // Retries of the one that is down are not logged one by one.
      await new Promise((r) => setTimeout(r, 200));
      expect(lines.filter((l) => l.includes(down)).length).toBeLessThan(3);
      await effects.close();
      await webhooks.close();
    } finally {
      await refusing.close();
    }
  });
});
