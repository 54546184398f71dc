// When the single writer cannot record a command at all it throws a typed error (not a plain Error):
// callers and the HTTP layer read `code` and `data`, and the message stays the one people already see.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../state/commands.js';
import { userActor } from '../../../state/decide.js';
import { PushmanagerError } from '../../../state/pushmanager-error.js';
import { DispatchError } from '../../../server/app/dispatch-error.js';
import { Dispatcher } from '../../../server/app/dispatcher.js';
import { MemoryStateStore } from '../../../server/store/memory-state-store.js';
import type { CommitRequest, CommitResult } from '../../../server/store/state-store.js';

const ALICE = userActor('alice', { pushmaster: false });
const clock = { now: () => new Date(Date.UTC(2026, 0, 1)) };
const open: Command = { type: 'OpenRequest', ref: 'refs/pushreq/mine', sha: 'a'.repeat(40), autoPickme: true };

/** A store whose tip has always moved by the time a commit arrives. */
class AlwaysStale extends MemoryStateStore {
  override commit(req: CommitRequest): Promise<CommitResult> {
    return super.commit({ ...req, expected: 'somebody-else' });
  }
}

describe('Dispatcher failures', () => {
  it('CAS retries exhausted: DispatchError commit-retries-exhausted, with the commands, attempts and the last conflict', async () => {
    const d = new Dispatcher(new AlwaysStale(), clock, null, { maxAttempts: 2 });
    const e = await d.dispatch(open, ALICE).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(DispatchError);
    expect(e).toBeInstanceOf(PushmanagerError);
    expect((e as DispatchError).toJSON()).toEqual({
      code: 'commit-retries-exhausted',
      message: 'could not commit OpenRequest after 2 attempts: expected somebody-else, tip is null',
      data: { commands: ['OpenRequest'], attempts: 2, detail: 'expected somebody-else, tip is null' },
    });
  });

  it('an empty batch is a typed no-commands error', async () => {
    const d = new Dispatcher(new MemoryStateStore(), clock, null);
    await expect(d.dispatchAll([], ALICE)).rejects.toThrow(expect.objectContaining({ code: 'no-commands', message: 'dispatchAll needs at least one command' }));
  });
});
