// The command section of a receive-pack request, as git-http.ts reads it ahead of receive-pack to find the
// refs a push names (revealOnPush): real git's bytes, cut anywhere, and shapes it must leave alone.
import { describe, expect, it } from 'vitest';
import { pushedRefs } from '../../../server/http/git-http.js';

const pkt = (s: string) => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;
const Z = '0'.repeat(40);
const A = 'a'.repeat(40);

describe('pushedRefs', () => {
  const body = Buffer.from(`${pkt(`${Z} ${A} refs/heads/pushmanager/meta\0report-status side-band-64k push-options agent=git/2.39.5\n`)}${pkt(`${A} ${Z} refs/pushreq/x\n`)}0000${pkt('title=x\n')}0000PACK\x00\x00\x00\x02`, 'latin1');

  it('names every ref of the commands, and waits for more while the section is cut short', () => {
    expect(pushedRefs(body)).toEqual(['refs/heads/pushmanager/meta', 'refs/pushreq/x']);
    const end = body.indexOf('0000');
    for (const cut of [0, 3, 4, 50, end, end + 3]) expect(pushedRefs(body.subarray(0, cut))).toBe('more');
  });

  it('skips shallow lines; leaves a signed push or a body of another shape alone', () => {
    expect(pushedRefs(Buffer.from(`${pkt(`shallow ${A}`)}${pkt(`${Z} ${A} refs/pushreq/y\0report-status`)}0000`))).toEqual(['refs/pushreq/y']);
    expect(pushedRefs(Buffer.from(`${pkt('push-cert\0report-status')}${pkt('certificate version 0.1\n')}`))).toBeNull();
    expect(pushedRefs(Buffer.from('PACK\x00\x00\x00\x02'))).toBeNull();
    expect(pushedRefs(Buffer.from('0002'))).toBeNull();
  });
});
