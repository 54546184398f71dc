// What the server sends back through the proc-receive relay: what git must receive, exactly.
import { describe, expect, it } from 'vitest';
import { renderHookOutput } from '../../hooks/hook-report.js';
import { BAND, PacketReader, encodeBand } from '../../hooks/pkt-line.js';

const packets = (stdout: string | Buffer) => {
  const r = new PacketReader();
  r.push(Buffer.from(stdout));
  const out: string[] = [];
  for (let p = r.next(); p; p = r.next()) out.push(p.kind === 'flush' ? '<flush>' : p.text);
  return out;
};

describe('renderHookOutput', () => {
  it('prints messages as lines and reports ok, forced-update and ng per ref, then a flush', () => {
    const out = renderHookOutput({
      messages: ['Pushmanager: request 1 "Fix" opened for alice', '  state: requested'],
      results: [
        { ref: 'refs/pushreq/a', ok: true },
        { ref: 'refs/pushreq/b', ok: true, forcedUpdate: true },
        { ref: 'refs/heads/master', ok: false, reason: 'master is written only by pushmanager\r\nsecond line' },
      ],
    });
    expect(out.stderr).toBe('Pushmanager: request 1 "Fix" opened for alice\n  state: requested\n');
    expect(out.stdout).toBe('0015ok refs/pushreq/a0015ok refs/pushreq/b0018option forced-update004ang refs/heads/master master is written only by pushmanager second line0000');
    expect(packets(out.stdout)).toEqual(['ok refs/pushreq/a', 'ok refs/pushreq/b', 'option forced-update', 'ng refs/heads/master master is written only by pushmanager second line', '<flush>']);
  });

  it('an empty answer is a bare flush', () => {
    expect(renderHookOutput({ messages: [], results: [] })).toEqual({ stderr: '', stdout: '0000' });
  });

  it('cuts an ng reason to a sentence\'s length (4 KiB), on a character boundary', () => {
    const out = renderHookOutput({ messages: [], results: [{ ref: 'refs/pushreq/x', ok: false, reason: 'é'.repeat(40_000) }] });
    const [ng, flush] = packets(out.stdout);
    expect(flush).toBe('<flush>');
    // receive-pack sends it on to the client in a pkt-line of its own, with a newline: it must fit there too.
    expect(Buffer.byteLength(ng!) + 4).toBeLessThanOrEqual(4100);
    expect(ng).toMatch(/^ng refs\/pushreq\/x é+\.\.\.$/);
  });
});

describe('encodeBand', () => {
  it('frames bytes as git side-band pkt-lines (length, band byte, data), split to fit', () => {
    expect(encodeBand(BAND.stderr, 'café\n').toString('utf8')).toBe('000b\x02café\n');
    const big = encodeBand(BAND.stdout, Buffer.alloc(70_000, 0x61));
    expect(big.subarray(0, 5).toString('latin1')).toBe('fff0\x01');
    expect(big.subarray(65520, 65525).toString('latin1')).toBe(`${(70_000 - 65515 + 5).toString(16).padStart(4, '0')}\x01`);
    expect(big.length).toBe(70_000 + 2 * 5);
    expect(encodeBand(BAND.fatal, '').length).toBe(0);
  });
});
