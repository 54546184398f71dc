// Dispatcher.dispatchAll, the write path of `git push --atomic`: several commands decided in order on the
// board each leaves, committed in one state commit with every ref they move, or not at all.
import { describe, expect, it } from 'vitest';
import type { Command } from '../../../state/commands.js';
import { userActor, type Actor } from '../../../state/decide.js';
import { isDomainError } from '../../../state/errors.js';
import { Dispatcher, mergeRefUpdates } from '../../../server/app/dispatcher.js';
import { MemoryStateStore } from '../../../server/store/memory-state-store.js';

const ALICE: Actor = userActor('alice');
const BOB: Actor = userActor('bob');
const clock = { now: () => new Date(Date.UTC(2026, 0, 1)) };
const open = (name: string, c: string): Command => ({ type: 'OpenRequest', ref: `refs/pushreq/${name}`, sha: c.repeat(40), autoPickme: true });

function setup() {
  const store = new MemoryStateStore();
  const heard: { commands: string[]; events: string[] }[] = [];
  // The pushreq refs follow the board: the write path's plan moves them (state/ref-intents.ts).
  const d = new Dispatcher(store, clock);
  d.onCommit((c) => heard.push({ commands: c.commands.map((x) => x.type), events: c.events.map((e) => e.type) }));
  return { store, d, heard };
}

describe('Dispatcher.dispatchAll', () => {
  it('records every command and the refs they move in one commit, and tells listeners once', async () => {
    const { store, d, heard } = setup();
    const out = await d.dispatchAll([open('a', 'a'), open('b', 'b')], BOB);
    expect(out.ok).toBe(true);
    expect(d.stats.commits).toBe(1);
    const { board } = await store.read();
    expect(Object.values(board.requests).map((r) => [r.ref, r.user])).toEqual([['refs/pushreq/a', 'bob'], ['refs/pushreq/b', 'bob']]);
    expect([...store.refs.keys()].sort()).toEqual(['refs/pushreq/a', 'refs/pushreq/b']);
    expect(heard).toEqual([{ commands: ['OpenRequest', 'OpenRequest'], events: ['RequestOpened', 'RequestOpened'] }]);
    const [entry] = await store.history({ request: 2 });
    expect(entry?.subject).toMatch(/^Open request 1: .*; Open request 2: .* \(one atomic push\)$/);
  });

  it('records nothing when any command is refused, and names which', async () => {
    const { store, d, heard } = setup();
    expect(isDomainError(await d.dispatch(open('alices', 'c'), ALICE))).toBe(false);
    const before = await store.read();
    const out = await d.dispatchAll([open('mine', 'd'), { type: 'UpdateRequest', ref: 'refs/pushreq/alices', sha: 'e'.repeat(40), forced: true }], BOB);
    expect(out).toMatchObject({ ok: false, index: 1, error: { code: 'ref-owned-by-other' } });
    expect((await store.read()).version).toBe(before.version);
    expect(store.refs.has('refs/pushreq/mine')).toBe(false);
    expect(heard).toHaveLength(1);
  });

  it('moves a ref two commands touch once: the first expected value, the last new one', () => {
    expect(mergeRefUpdates([
      { ref: 'refs/heads/deploy/push-1', newSha: 'b', oldSha: 'a' },
      { ref: 'refs/pushreq/x', newSha: 'x' },
      { ref: 'refs/heads/deploy/push-1', newSha: 'c', oldSha: 'b' },
    ])).toEqual([{ ref: 'refs/heads/deploy/push-1', newSha: 'c', oldSha: 'a' }, { ref: 'refs/pushreq/x', newSha: 'x' }]);
  });
});
