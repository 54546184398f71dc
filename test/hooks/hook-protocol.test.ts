// The server's side of git's proc-receive conversation (readPush): what it answers and what it reads,
// from the bytes git sends. The relays pass these bytes through unchanged (proc-receive-runtimes.test.ts).
import { describe, expect, it } from 'vitest';
import { readPush } from '../../hooks/hook-protocol.js';
import { PacketReader, type Packet } from '../../hooks/pkt-line.js';

const pkt = (data: Buffer | string) => {
  const b = Buffer.from(data);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const FLUSH = Buffer.from('0000');
const A = '0'.repeat(40);
const B = 'b'.repeat(40);

/** readPush over a fixed byte stream; what it sent back. */
async function converse(bytes: Buffer) {
  const reader = new PacketReader();
  reader.push(bytes);
  const next = async (): Promise<Packet> => {
    const p = reader.next();
    if (!p) throw new Error('git closed the pipe in the middle of a packet');
    return p;
  };
  let sent = '';
  const push = await readPush(next, (s) => (sent += s));
  return { push, sent };
}

describe('readPush', () => {
  it('answers version=1 asking for push options, then reads commands and options byte-exact (every byte value, invalid UTF-8 as U+FFFD)', async () => {
    const every = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1).filter((b) => b !== 0x0a));
    const bytes = Buffer.concat([
      pkt('version=1\0atomic push-options\n'), FLUSH,
      pkt(`${A} ${B} refs/pushreq/café\n`), pkt(`${B} ${A} refs/heads/master\n`), FLUSH,
      pkt('title=He said "ship it" \\ — café ☕\n'), pkt(Buffer.concat([Buffer.from('description='), every, Buffer.from('\n')])), pkt(Buffer.from([0x74, 0x3d, 0xc3, 0x28, 0xff])), pkt(''), FLUSH,
    ]);
    const { push, sent } = await converse(bytes);
    expect(sent).toBe('001aversion=1\0push-options0000');
    expect(push.atomic).toBe(true);
    expect(push.commands).toEqual([
      { oldSha: A, newSha: B, ref: 'refs/pushreq/café' },
      { oldSha: B, newSha: A, ref: 'refs/heads/master' },
    ]);
    expect(push.options).toEqual(['title=He said "ship it" \\ — café ☕', `description=${every.toString('utf8')}`, Buffer.from([0x74, 0x3d, 0xc3, 0x28, 0xff]).toString('utf8'), '']);
  });

  it('without push-options offered, answers a bare version=1 and reads no options; atomic only when offered', async () => {
    const { push, sent } = await converse(Buffer.concat([pkt('version=1\n'), FLUSH, pkt(`${B} ${A} refs/pushreq/gone\n`), FLUSH]));
    expect(sent).toBe('000eversion=1\u00000000');
    expect(push).toEqual({ commands: [{ oldSha: B, newSha: A, ref: 'refs/pushreq/gone' }], options: [], atomic: false });
  });

  it('the options\' 256 KiB cap counts bytes, not characters: ten options of 20,000 three-byte characters keep four', async () => {
    const big = `description=${'€'.repeat(20_000)}`;
    const bytes = Buffer.concat([pkt('version=1\0push-options\n'), FLUSH, pkt(`${A} ${B} refs/pushreq/euro\n`), FLUSH, ...Array.from({ length: 10 }, () => pkt(`${big}\n`)), FLUSH]);
    const { push } = await converse(bytes);
    expect(push.options).toHaveLength(4);
    expect(push.optionsDropped).toBe(6);
    expect(push.options.reduce((n, o) => n + Buffer.byteLength(o), 0)).toBeLessThanOrEqual(256 * 1024);
  });

  it('a broken pkt-line is an error naming it', async () => {
    await expect(converse(Buffer.from('zzzz'))).rejects.toThrow('bad pkt-line length');
    await expect(converse(Buffer.from('00zz'))).rejects.toThrow('bad pkt-line length');
  });
});
