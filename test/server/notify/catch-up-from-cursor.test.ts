// Where notifications, webhooks and the Reviewboard/JIRA calls start at start-up (catchUpFromCursor): no
// cursor on a store with commits starts at the head; no cursor on an empty store starts at its beginning,
// so the first commits survive a crash before any cursor write (notifications skipped them: they read the
// unwritten cursor as a first start); a cursor the branch lacks (a restored backup) goes on from the head.
import { describe, expect, it } from 'vitest';
import { catchUpFromCursor, FROM_THE_BEGINNING, type CursorStore, type MetadataCommit } from '../../../server/notify/catch-up.js';
import type { Board } from '../../../state/model.js';

const board = {} as Board;
class MemCursor implements CursorStore {
  constructor(public value: string | null) {}
  async read() {
    return this.value;
  }
  async write(v: string) {
    this.value = v;
  }
}
const history = [{ version: 'c1', events: [] }, { version: 'c2', events: [] }];
const eventsSince = (from: string | null) =>
  (async function* () {
    if (from !== null && !history.some((c) => c.version === from)) throw Object.assign(new Error(`unknown ${from}`), { code: 'store-unknown-version' });
    const i = from === null ? 0 : history.findIndex((c) => c.version === from) + 1;
    yield* history.slice(i);
  })();
const run = async (cursor: MemCursor, version: string | null) => {
  const seen: string[] = [];
  const lines: string[] = [];
  const r = await catchUpFromCursor({ cursor, snapshot: { version, board }, eventsSince, enqueue: async (c: MetadataCommit) => (seen.push(c.sha), 1), what: 'notifications', log: (l, m) => lines.push(`${l} ${m}`) });
  return { r, seen, lines };
};

describe('catchUpFromCursor', () => {
  it('a first start on an empty store writes "from the beginning"; the next start then catches up every commit', async () => {
    const cursor = new MemCursor(null);
    expect((await run(cursor, null)).seen).toEqual([]);
    expect(cursor.value).toBe(FROM_THE_BEGINNING);
    const next = await run(cursor, 'c2');
    expect(next.seen).toEqual(['c1', 'c2']);
    expect(cursor.value).toBe('c2');
  });

  it('a first start on a store with history starts at the head; a known cursor catches up what follows it', async () => {
    const cursor = new MemCursor(null);
    expect((await run(cursor, 'c2')).seen).toEqual([]);
    expect(cursor.value).toBe('c2');
    expect((await run(new MemCursor('c1'), 'c2')).seen).toEqual(['c2']);
  });

  it('a cursor the branch does not have (a restored backup) goes on from the head, sending nothing again, and says so', async () => {
    const cursor = new MemCursor('c9');
    const { seen, lines } = await run(cursor, 'c2');
    expect(seen).toEqual([]);
    expect(cursor.value).toBe('c2');
    expect(lines).toEqual(['warn notifications: the catch-up cursor c9 is not on the metadata branch (restored from a backup?); nothing is sent again, notifications go on from c2']);
  });
});
