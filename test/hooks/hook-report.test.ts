// The byte report the hook endpoint sends when asked (HOOK_REPORT_TYPE): what git must receive, exactly.
import { describe, expect, it } from 'vitest';
import { decodeHookReport, encodeHookReport, renderHookOutput, unreachableAnswer } from '../../hooks/hook-report.js';
import { PacketReader } from '../../hooks/pkt-line.js';

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

  it('cuts an ng reason that would not fit in one pkt-line, on a character boundary', () => {
    const out = renderHookOutput({ messages: [], results: [{ ref: 'refs/pushreq/x', ok: false, reason: 'é'.repeat(40_000) }] });
    const [ng, flush] = packets(out.stdout);
    expect(flush).toBe('<flush>');
    expect(Buffer.byteLength(ng!) + 4).toBeLessThanOrEqual(65520);
    expect(ng).toMatch(/^ng refs\/pushreq\/x é+\.\.\.$/);
  });
});

describe('encodeHookReport / decodeHookReport', () => {
  it('is the stderr byte length, a newline, stderr, then stdout, counting bytes not characters', () => {
    const answer = { messages: ['café ☕ "quoted" \\ back\tslash'], results: [{ ref: 'refs/pushreq/ü', ok: true as const }] };
    const report = encodeHookReport(answer);
    const stderr = 'café ☕ "quoted" \\ back\tslash\n';
    expect(report.toString('utf8')).toBe(`${Buffer.byteLength(stderr)}\n${stderr}0016ok refs/pushreq/ü0000`);
    const back = decodeHookReport(report);
    expect(back.stderr.toString('utf8')).toBe(stderr);
    expect(back.stdout.toString('utf8')).toBe(renderHookOutput(answer).stdout);
  });

  it('an answer with no messages starts with "0\\n"', () => {
    expect(encodeHookReport({ messages: [], results: [] }).toString()).toBe('0\n0000');
  });

  it.each([[''], ['x\n'], ['12\nshort'], ['-1\n'], ['1e3\n']])('refuses a malformed report %j', (body) => {
    expect(() => decodeHookReport(Buffer.from(body))).toThrow(/malformed hook report/);
  });
});

describe('unreachableAnswer', () => {
  it('refuses every ref with the same clear reason, and says it once', () => {
    const a = unreachableAnswer(
      [
        { oldSha: '0'.repeat(40), newSha: '1'.repeat(40), ref: 'refs/pushreq/a' },
        { oldSha: '0'.repeat(40), newSha: '2'.repeat(40), ref: 'refs/pushreq/b' },
      ],
      'connect ECONNREFUSED 127.0.0.1:1',
    );
    const why = 'pushmanager server unreachable (connect ECONNREFUSED 127.0.0.1:1); nothing was recorded, try again';
    expect(a).toEqual({ messages: [why], results: [{ ref: 'refs/pushreq/a', ok: false, reason: why }, { ref: 'refs/pushreq/b', ok: false, reason: why }] });
  });
});
