// The bounded job log on its own: what the file keeps, and what a follower who joins late is sent.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobLog, truncationMarker } from '../../../server/pipeline/job-log.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

afterAll(removeTempDirs);

const collect = async (it: AsyncGenerator<Buffer>, into: string[]) => {
  for await (const c of it) into.push(c.toString());
};

describe('JobLog', () => {
  it('under the bound the file is the output as written', async () => {
    const log = new JobLog(join(await tempDir(), 'a.log'), { maxBytes: 100, tailBytes: 20 });
    log.append('hello\n');
    log.append(Buffer.from('world\n'));
    log.close();
    expect(await readFile(log.path, 'utf8')).toBe('hello\nworld\n');
    expect(log.truncated).toBe(false);
  });

  it('over the bound: head, marker with the bytes left out, the last tailBytes', async () => {
    const log = new JobLog(join(await tempDir(), 'b.log'), { maxBytes: 40, tailBytes: 10 });
    const all = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'; // 62 bytes, in pieces
    for (let i = 0; i < all.length; i += 7) log.append(all.slice(i, i + 7));
    log.close();
    expect(await readFile(log.path, 'utf8')).toBe(`${all.slice(0, 30)}${truncationMarker(62 - 30 - 10)}${all.slice(-10)}`);
  });

  it('a follower gets what was written before it joined, then each new chunk, and ends with the log', async () => {
    const log = new JobLog(join(await tempDir(), 'c.log'), { maxBytes: 1000, tailBytes: 100 });
    log.append('one\n');
    const got: string[] = [];
    const f = collect(log.follow(), got);
    await new Promise((r) => setTimeout(r, 10));
    log.append('two\n');
    log.append('three\n');
    log.close();
    await f;
    expect(got.join('')).toBe('one\ntwo\nthree\n');
  });

  it('a follower joining after the head filled up gets the head, a marker, the tail kept so far, then live output', async () => {
    const log = new JobLog(join(await tempDir(), 'd.log'), { maxBytes: 40, tailBytes: 10 });
    log.append('H'.repeat(30)); // the head is full
    log.append('x'.repeat(25));
    log.append('T'.repeat(10));
    const got: string[] = [];
    const f = collect(log.follow(), got);
    await new Promise((r) => setTimeout(r, 10));
    log.append('live');
    log.close();
    await f;
    const text = got.join('');
    expect(text.startsWith('H'.repeat(30) + truncationMarker(25))).toBe(true);
    expect(text.endsWith('T'.repeat(10) + 'live')).toBe(true);
  });
});
