// What a web page of another site can make a pushee's browser do to a server on loopback: the browser
// holds the user's Basic credentials for the server, or the page knows the demo users' passwords. It may
// send "simple" requests without asking (no CORS preflight) and, after pointing a name of its own at
// 127.0.0.1 (DNS rebinding), read the answers as if it were the server's own page.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { misdirectedHost } from '../../server/http/server.js';
import { startFixture, type Fixture } from '../helpers/server-fixture.js';

let f: Fixture;
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`;

/** One raw HTTP/1.1 exchange with the Host header as given (fetch would set its own). */
async function raw(method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(f.server.url);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries({ connection: 'close', 'content-length': String(Buffer.byteLength(body)), ...headers }).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(Number(port), hostname, () => s.write(head + body)); // not end(): a half-closed socket may lose the answer
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
  return { status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => f?.close());

describe('DNS rebinding', () => {
  it('a request addressed to another name is refused (421) before anything is read or done', async () => {
    const port = new URL(f.server.url).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      const board = await raw('GET', '/api/board', { host, authorization: basic('pm') });
      expect(board.status).toBe(421);
      expect(board.body).toMatch(/"code":"misdirected-host".*not \\"[a-z0-9.]*evil\.example\\"/);
      const open = await raw('POST', '/api/commands', { host, authorization: basic('pm'), 'content-type': 'application/json' }, JSON.stringify({ type: 'OpenPush', title: 'rebound' }));
      expect(open.status).toBe(421);
      expect((await raw('GET', '/main.git/info/refs?service=git-upload-pack', { host, authorization: basic('alice') })).status).toBe(421);
    }
    expect((await f.client('pm').board()).pushes).toHaveLength(0);
  });

  it('loopback names are served; so is the publicUrl host, and any name when not on loopback', async () => {
    const port = new URL(f.server.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`]) {
      expect((await raw('GET', '/api/whoami', { host, authorization: basic('alice') })).status, host).toBe(200);
    }
    const cfg = { host: '127.0.0.1', publicUrl: 'https://pm.example.com/' } as Parameters<typeof misdirectedHost>[0];
    expect(misdirectedHost(cfg, 'pm.example.com')).toBeNull();
    expect(misdirectedHost(cfg, 'pm.example.com:443')).toBeNull();
    expect(misdirectedHost(cfg, 'other.example.com')).toMatch(/not "other\.example\.com"/);
    expect(misdirectedHost({ ...cfg, host: '0.0.0.0' }, 'other.example.com')).toBeNull();
  });
});

describe('requests a page may send without a preflight', () => {
  it('an empty form or text/plain POST to /api/tokens mints no token (415); the CLI\'s JSON does', async () => {
    const host = new URL(f.server.url).host;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await raw('POST', '/api/tokens', { host, authorization: basic('alice'), 'content-type': type });
      expect(r.status, type).toBe(415);
    }
    expect((await raw('POST', '/api/tokens', { host, authorization: basic('alice') })).status).toBe(415);
    const list = await raw('GET', '/api/tokens', { host, authorization: basic('alice') });
    expect(JSON.parse(list.body)).toEqual({ tokens: [] });
    expect((await raw('POST', '/api/tokens', { host, authorization: basic('alice'), 'content-type': 'application/json' }, '{}')).status).toBe(201);
  });

  it('commands and pushes need their own media types, which a page cannot send without asking', async () => {
    const host = new URL(f.server.url).host;
    const cmd = await raw('POST', '/api/commands', { host, authorization: basic('pm'), 'content-type': 'text/plain' }, JSON.stringify({ type: 'OpenPush', title: 'csrf' }));
    expect(cmd.status).toBe(415);
    expect((await raw('POST', '/main.git/git-receive-pack', { host, authorization: basic('alice'), 'content-type': 'text/plain' }, '0000')).status).toBe(415);
    // The preflight a page must send first carries no credentials: refused, with no CORS header to let it on.
    const pre = await raw('OPTIONS', '/api/commands', { host, origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    expect(pre.status).toBe(401);
    expect(pre.body).not.toMatch(/access-control-allow/i);
    expect((await f.client('pm').board()).pushes).toHaveLength(0);
  });
});
