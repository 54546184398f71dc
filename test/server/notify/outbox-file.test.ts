// The outbox's journal file: a line that is JSON but not a record does not stop the start-up; appends
// made together share one write and flush.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, Outbox } from '../../../server/notify/outbox.js';
import { OutboxFile } from '../../../server/notify/outbox-file.js';
import { decodeJournal, type OutboxRecord } from '../../../state/notify/outbox-journal.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { delivery, FakeNotifier } from './fake-notifier.js';

afterAll(removeTempDirs);

describe('outbox journal file', () => {
  it('skips lines that parse but are no record (null, a number) and sends the rest', async () => {
    const dir = await tempDir();
    const enq = JSON.stringify({ t: 'enq', at: 1, d: delivery('j1') });
    await writeFile(join(dir, JOURNAL_FILE), `null\n${enq}\n42\n`);
    const irc = new FakeNotifier('irc');
    const ob = await Outbox.open({ dir, notifiers: [irc], retry: { baseMs: 5, maxMs: 20 } });
    expect(ob.journalSkippedLines).toBe(2);
    await ob.idle();
    expect(irc.sent.map((d) => d.key)).toEqual(['j1']);
    await ob.close();
  });
});

describe('OutboxFile appends', () => {
  it('appends made together share one write and flush, each resolving once on disk, in order', async () => {
    const dir = await tempDir();
    const { file } = await OutboxFile.open(dir, () => null);
    const rec = (k: string): OutboxRecord => ({ t: 'sent', at: 1, k });
    // Ten appends made together: one write, one flush.
    const done = await Promise.all(Array.from({ length: 10 }, (_, i) => file.append([rec(`k${i}`)]).then(() => i)));
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(file.flushes).toBe(1);
    const journal = decodeJournal(await readFile(join(dir, JOURNAL_FILE), 'utf8'));
    expect(journal.lines).toBe(10);
    expect((await readFile(join(dir, JOURNAL_FILE), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { k: string }).k)).toEqual(done.map((i) => `k${i}`));
    // Later appends still each reach the disk; after close they fail, all of them.
    // Made after a's write started: b and c wait for it, then share the next.
    const first = file.append([rec('a')]);
    await new Promise((r) => setImmediate(r));
    await Promise.all([first, file.append([rec('b')]), file.append([rec('c')])]);
    expect(file.flushes).toBe(3); // a's, then b's and c's together
    await file.close();
    await expect(Promise.all([file.append([rec('x')]), file.append([rec('y')])])).rejects.toMatchObject({ code: 'outbox-closed' });
  });
});
