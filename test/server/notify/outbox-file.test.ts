// The outbox's journal file: a line that is JSON but not a record does not stop the start-up.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, Outbox } from '../../../server/notify/outbox.js';
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
