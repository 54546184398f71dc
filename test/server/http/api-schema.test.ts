// API bodies parsed at the edge (server/http/api-schema.ts): what a ReportJob's `url` may hold. The URL is
// served back raw by the API and shown by every client, so a control character in it is refused with the
// field named, not stored (the URL parser alone keeps an escape sequence and silently drops a tab).
import { describe, expect, it } from 'vitest';
import { parseApiCommand } from '../../../server/http/api-schema.js';

const report = (url: unknown) => parseApiCommand({ type: 'ReportJob', job: '1.9', state: 'passed', url });

describe('ReportJob url', () => {
  it.each([
    ['an escape sequence (clear screen, window title, bell)', 'http://ci.example/\x1b[2J\x1b]0;pwn\x07x'],
    ['a NUL', 'http://ci.example/run\x00/1'],
    ['a tab, which the URL parser would drop', 'http://ci.example/\trun/1'],
    ['a line end', 'http://ci.example/run/1\nX-Injected: 1'],
    ['DEL', 'http://ci.example/run\x7f/1'],
    ['an 8-bit CSI (C1)', 'http://ci.example/run/\u009b2J'],
  ])('refuses %s, naming the field', (_what, url) => {
    const r = report(url);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.field).toBe('url');
    expect(r.message).toBe('url: must not contain control characters');
  });

  it('takes an http(s) page as it is, and still refuses what is not a web URL', () => {
    const ok = report('https://ci.example.com/runs/9?tab=log#end');
    expect(ok).toEqual({ ok: true, value: { type: 'ReportJob', job: '1.9', state: 'passed', url: 'https://ci.example.com/runs/9?tab=log#end' } });
    const ftp = report('ftp://ci.example.com/runs/9');
    expect(ftp.ok).toBe(false);
    if (!ftp.ok) expect(ftp.field).toBe('url');
    const long = report(`https://ci.example.com/${'a'.repeat(2000)}`);
    expect(long.ok).toBe(false);
  });
});

describe('what a refused field says', () => {
  const refusal = (body: unknown) => {
    const r = parseApiCommand(body);
    if (r.ok) throw new Error('expected a refusal');
    return r;
  };

  it('a length limit in words, with how long the value was, not zod\'s "Too big: expected string to have <=4000 characters"', () => {
    expect(refusal({ type: 'CommentRequest', request: 2, text: 'x'.repeat(5000) }).message).toBe('text: at most 4000 characters (it has 5000)');
    expect(refusal({ type: 'EditRequest', request: 2, title: '' }).message).toBe('title: must not be empty');
    expect(refusal({ type: 'OpenPush', title: '' }).message).toBe('title: must not be empty');
  });

  it('names an item of a list as tags[0], not tags.0', () => {
    const r = refusal({ type: 'EditRequest', request: 2, tags: ['bad tag'] });
    expect(r.field).toBe('tags[0]');
    expect(r.message).toMatch(/^tags\[0\]: /);
  });
});

describe('a body that is no command', () => {
  it('an unknown or missing type is named as such, with the commands there are', () => {
    const r = parseApiCommand({ type: 'Nope' });
    expect(!r.ok && r.message).toMatch(/^type: unknown command "Nope"; one of PickmeRequest, UnpickmeRequest, .*TickChecklist$/);
    expect(!r.ok && r.message).not.toMatch(/discriminator/);
    const missing = parseApiCommand({ request: 1 });
    expect(!missing.ok && missing.message).toMatch(/^type: missing; one of PickmeRequest/);
  });

  it('a list is not a command', () => {
    const r = parseApiCommand([]);
    expect(!r.ok && [r.field, r.message]).toEqual(['body', 'body: expected a JSON object (a command with its "type"), got a list']);
  });
});
