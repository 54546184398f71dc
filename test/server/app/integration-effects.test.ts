// The integration effects at start-up: the store is read for the catch-up only, and a read that fails is
// that start-up's error, never a rejection nobody awaits (Node 20 ends the process on one).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../server/app/event-bus.js';
import { startIntegrationEffects } from '../../../server/app/integration-effects.js';
import type { Integrations } from '../../../server/integrations/integrations-config.js';
import { MemoryStateStore } from '../../../server/store/memory-state-store.js';
import type { Snapshot } from '../../../server/store/state-store.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

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
});
