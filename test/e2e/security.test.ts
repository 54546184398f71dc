// Issue 6's security suite, against the running server: every way in without the right credentials
// or rights, every malformed path, body, ref and option. Each refusal is checked for its status and
// for "nothing changed" (the metadata branch's version is the same before and after).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config/config.js';
import { startServer } from '../../server/main.js';
import { hashPassword } from '../../server/auth/password-hash.js';
import { userActor } from '../../state/decide.js';
import { cli, commitOnBranch, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

const run = promisify(execFile);

let f: Fixture;
let alice: string;
let pushId: number;
let requestId: number;
let masterSha: string;

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** The board's version once the train's background commits (conflict findings, rebuilds) have landed. */
const version = async () => {
  await f.server.train.idle();
  return (await f.server.dispatcher.read()).version;
};
const hostPort = () => new URL(f.server.url);

/** One raw HTTP/1.1 exchange: the path goes out byte for byte (fetch and URL would normalise it). */
async function raw(method: string, path: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = hostPort();
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  const chunked = opts.headers?.['transfer-encoding'] === 'chunked';
  const headers = { host: `${hostname}:${port}`, connection: 'close', ...(opts.body !== undefined && !chunked && { 'content-length': String(body.length) }), ...opts.headers };
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(Number(port), hostname, () => {
      s.write(head, 'latin1');
      s.write(body);
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', (e) => (chunks.length ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(e)));
  });
  const [top = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = top.split('\r\n');
  const hs = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers: hs, body: rest.join('\r\n\r\n') };
}

const api = (method: string, path: string, auth: string | null, body?: unknown) =>
  fetch(new URL(path, f.server.url), {
    method,
    headers: { ...(auth && { authorization: auth }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const pkt = (s: string | Buffer) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const FLUSH = Buffer.from('0000');
/** A pack with no objects: enough for a ref update whose object the server already has. */
function emptyPack(): Buffer<ArrayBuffer> {
  const head = Buffer.concat([Buffer.from('PACK'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])]);
  return Buffer.concat([head, createHash('sha1').update(head).digest() as Buffer<ArrayBuffer>]);
}
/** A receive-pack request as git would send it, but with whatever ref name and push options we like. */
function receivePackBody(ref: string, newSha: string, options: readonly string[]): Buffer {
  const caps = `report-status${options.length ? ' push-options' : ''} object-format=sha1 agent=test`;
  const parts = [pkt(`${'0'.repeat(40)} ${newSha} ${ref}\0${caps}\n`), FLUSH];
  if (options.length) parts.push(...options.map((o) => pkt(`${o}\n`)), FLUSH);
  parts.push(emptyPack());
  return Buffer.concat(parts);
}

/** A plain engineer who happens to be called like the server (issue 14: identity is a type, not a name). */
const NAMESAKE_PASSWORD = 'namesake-secret';

beforeAll(async () => {
  // A generous login rate limit: this file makes many deliberate failures from 127.0.0.1, and the
  // limit itself is tested below on its own server.
  const namesake = `    - { name: pushmanager, passwordHash: "${await hashPassword(NAMESAKE_PASSWORD, { N: 2 ** 10, r: 8, p: 1 })}" }\n`;
  const config = parseConfig(
    `auth:\n  strategy: local\n  rateLimit: { maxFailures: 1000 }\n  users:\n${['alice', 'bob', 'carol'].map((u) => `    - { name: ${u}, password: ${u} }\n`).join('')}    - { name: pm, password: pm, pushmaster: true }\n${namesake}`,
    'security.test',
  );
  f = await startFixture({ config });
  alice = await f.clone('alice');
  masterSha = await gitOk(alice, ['rev-parse', 'origin/master']);
  const pm = f.client('pm');
  await pm.command({ type: 'OpenPush', title: 'Security push' });
  pushId = (await pm.board()).pushes[0]!.id;
  await f.commit(alice, 'sec', { 'sec.txt': 'sec\n' });
  await gitOk(alice, ['push', '-q', 'origin', 'sec:refs/pushreq/sec', '-o', 'title=Sec change']);
  requestId = (await pm.board()).requests.find((r) => r.ref === 'refs/pushreq/sec')!.id;
  await pm.command({ type: 'AcceptRequests', push: pushId, requests: [requestId] });
}, 60_000);
afterAll(async () => f?.close());

describe('authentication', () => {
  it('no credentials: git and the API answer 401 with a Basic challenge', async () => {
    const before = await version();
    for (const path of ['/main.git/info/refs?service=git-upload-pack', '/main.git/info/refs?service=git-receive-pack', '/api/board']) {
      const r = await api('GET', path, null);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="pushmanager"/);
    }
    const post = await api('POST', '/api/commands', null, { type: 'OpenPush', title: 'anon' });
    expect(post.status).toBe(401);
    expect(await version()).toBe(before);
  });

  it('wrong credentials (wrong password, unknown user, junk header) are 401 and git fails', async () => {
    const before = await version();
    for (const auth of [basic('alice', 'nope'), basic('mallory', 'mallory'), 'Basic !!!', 'Digest abc', `Bearer pmt_${'A'.repeat(43)}`]) {
      const r = await api('GET', '/api/board', auth);
      expect(r.status, auth).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/Basic/);
    }
    const wrong = await git(f.dir, ['ls-remote', f.remote('alice').replace('alice:alice@', 'alice:nope@')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Authentication failed|401/);
    expect(await version()).toBe(before);
  });

  it('an expired token is refused by the API and by git', async () => {
    const t = await f.server.auth.tokens.issue('alice', { ttlMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const before = await version();
    const r = await api('GET', '/api/board', `Bearer ${t.token}`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
    expect((await api('GET', '/api/board', basic('alice', t.token))).status).toBe(401);
    const g = await git(f.dir, ['ls-remote', f.remote('alice').replace('alice:alice@', `alice:${t.token}@`)]);
    expect(g.code).not.toBe(0);
    expect(await version()).toBe(before);
  });

  it('a revoked token is refused by the API and by git; another user cannot revoke it', async () => {
    const issued = await api('POST', '/api/tokens', basic('alice', 'alice'), { label: 'to revoke' });
    expect(issued.status).toBe(201);
    const t = (await issued.json()) as { token: string; id: string };
    expect((await api('GET', '/api/board', `Bearer ${t.token}`)).status).toBe(200);
    // bob may not revoke alice's token (404, as if it did not exist), and it keeps working
    expect((await api('DELETE', `/api/tokens/${t.id}`, basic('bob', 'bob'))).status).toBe(404);
    expect((await api('GET', '/api/board', `Bearer ${t.token}`)).status).toBe(200);
    expect((await api('DELETE', `/api/tokens/${t.id}`, basic('alice', 'alice'))).status).toBe(200);
    const before = await version();
    const r = await api('GET', '/api/board', `Bearer ${t.token}`);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
    const cmd = await api('POST', '/api/commands', `Bearer ${t.token}`, { type: 'CommentRequest', request: requestId, text: 'x' });
    expect(cmd.status).toBe(401);
    const g = await git(f.dir, ['ls-remote', f.remote('alice').replace('alice:alice@', `alice:${t.token}@`)]);
    expect(g.code).not.toBe(0);
    expect(await version()).toBe(before);
  });

  it("a token is only good for its own user: alice's token with bob's name is refused", async () => {
    const t = await f.server.auth.tokens.issue('alice', { ttlMs: 60_000 });
    expect((await api('GET', '/api/whoami', basic('bob', t.token))).status).toBe(401);
    const ok = await api('GET', '/api/whoami', basic('alice', t.token));
    expect(((await ok.json()) as { user: { name: string } }).user.name).toBe('alice');
  });
});

describe('authorization: a pushee calling every pushmaster verb', () => {
  const verbs: [string, () => Record<string, unknown>, RegExp][] = [
    ['OpenPush', () => ({ type: 'OpenPush', title: 'mine' }), /^not-pushmaster$/],
    ['AcceptRequests', () => ({ type: 'AcceptRequests', push: pushId, requests: [requestId] }), /^not-pushmaster-of-push$/],
    ['RemoveRequest', () => ({ type: 'RemoveRequest', push: pushId, request: requestId, reason: 'mine' }), /^not-pushmaster-of-push$/],
    ['RebuildPush', () => ({ type: 'RebuildPush', push: pushId }), /^not-pushmaster-of-push$/],
    ['StagePush', () => ({ type: 'StagePush', push: pushId, env: 'stage-a' }), /^not-pushmaster-of-push$/],
    ['BlessPush', () => ({ type: 'BlessPush', push: pushId, force: true }), /^not-pushmaster/],
    ['CertifyPush', () => ({ type: 'CertifyPush', push: pushId, force: true }), /^not-pushmaster/],
    ['DiscardPush', () => ({ type: 'DiscardPush', push: pushId, reason: 'mine' }), /^not-pushmaster/],
    ['MessagePushees', () => ({ type: 'MessagePushees', push: pushId, text: 'hello' }), /^not-pushmaster/],
    ['TakeOverPush', () => ({ type: 'TakeOverPush', push: pushId }), /^not-pushmaster$/],
    ['TickChecklist', () => ({ type: 'TickChecklist', push: pushId, item: 'anything' }), /^not-pushmaster/],
  ];
  it.each(verbs)('alice may not %s: 403 with the rule, nothing changes', async (_name, body, code) => {
    const before = await version();
    const r = await api('POST', '/api/commands', basic('alice', 'alice'), body());
    expect(r.status).toBe(403);
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    expect(e.code).toMatch(code);
    expect(e.message).toMatch(/alice/);
    expect(await version()).toBe(before);
  });

  it('the CLI shows the rule too (exit 1, code on stderr)', async () => {
    const before = await version();
    const r = await cli(f.server.url, 'alice', ['push', 'stage', String(pushId), '--env', 'stage-a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[not-pushmaster-of-push\]/);
    expect(await version()).toBe(before);
  });

  it('a pushee may not read the outbox (it holds other people\'s addresses)', async () => {
    const r = await api('GET', '/api/outbox', basic('alice', 'alice'));
    expect(r.status).toBe(403);
    expect((await api('GET', '/api/outbox', basic('pm', 'pm'))).status).toBe(200);
  });

  it('pushing to a protected ref (master) is refused and nothing moves', async () => {
    const before = await version();
    const r = await git(alice, ['push', '--force', 'origin', 'sec:refs/heads/master']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[remote rejected\].*master is written only by pushmanager/);
    expect(await gitOk(alice, ['ls-remote', 'origin', 'refs/heads/master'])).toContain(masterSha);
    expect(await version()).toBe(before);
  });
});

describe('a user named pushmanager is an ordinary user', () => {
  const asNamesake = basic('pushmanager', NAMESAKE_PASSWORD);
  it("may not accept into pm's push, discard bob's request, or re-push alice's ref: refused like any non-owner, nothing changes", async () => {
    const bob = await f.clone('bob');
    await f.commit(bob, 'bob-pick', { 'bob-pick.txt': 'pick\n' });
    await gitOk(bob, ['push', '-q', 'origin', 'bob-pick:refs/pushreq/bob-pick']);
    await f.commit(bob, 'bob-wait', { 'bob-wait.txt': 'wait\n' });
    await gitOk(bob, ['push', '-q', 'origin', 'bob-wait:refs/pushreq/bob-wait', '-o', 'pickme=no']);
    const board = await f.client('pm').board();
    const picked = board.requests.find((r) => r.ref === 'refs/pushreq/bob-pick')!;
    const waiting = board.requests.find((r) => r.ref === 'refs/pushreq/bob-wait')!;
    expect([picked.state, waiting.state]).toEqual(['pickme', 'requested']);

    const before = await version();
    const accept = await api('POST', '/api/commands', asNamesake, { type: 'AcceptRequests', push: pushId, requests: [picked.id] });
    expect(accept.status).toBe(403);
    expect(((await accept.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'not-pushmaster-of-push', message: expect.stringMatching(/^pushmanager is not the pushmaster of push/) });
    const discard = await api('POST', '/api/commands', asNamesake, { type: 'DiscardRequest', request: waiting.id });
    expect(discard.status).toBe(403);
    expect(((await discard.json()) as { error: { code: string } }).error.code).toBe('not-owner');

    // The same name over git: a force-push onto alice's ref is hers to make, not a "server" update.
    const work = join(f.dir, 'clone-namesake');
    await gitOk(f.dir, ['clone', '-q', f.remote('alice').replace('alice:alice@', `pushmanager:${NAMESAKE_PASSWORD}@`), work]);
    await commitOnBranch(work, 'takeover', { 'sec.txt': 'mine now\n' });
    const push = await git(work, ['push', '--force', 'origin', 'takeover:refs/pushreq/sec']);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/belongs to alice's request/);
    expect(await version()).toBe(before);
    const after = await f.client('pm').board();
    expect(after.requests.find((r) => r.id === picked.id)!.state).toBe('pickme');
    expect(after.requests.find((r) => r.id === waiting.id)!.state).toBe('requested');
    expect(after.requests.find((r) => r.id === requestId)!.user).toBe('alice');
  });
});

describe('paths', () => {
  const traversal = [
    '/../../etc/passwd',
    '/main.git/../../etc/passwd',
    '/main.git/info/../config',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
    '/main.git%2f..%2f..%2fetc%2fpasswd',
    '/main.git/info/refs%2f..%2f..%2fconfig?service=git-upload-pack',
    '/%252e%252e/%252e%252e/etc/passwd',
    '/main.git/%252e%252e/config',
    '/main.git\\..\\..\\etc\\passwd',
    '/..\\..\\etc\\passwd',
    '/main.git/%00/info/refs?service=git-upload-pack',
    '//etc/passwd',
    '/main.git/config',
    '/main.git/HEAD',
    '/main.git/objects/info/packs',
    '/main.git/info/refs', // dumb protocol: no service
    '/etc/passwd',
  ];
  it.each(traversal)('%s is a 4xx, never a file', async (path) => {
    const before = await version();
    const r = await raw('GET', path, { headers: { authorization: basic('alice', 'alice') } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.body).not.toMatch(/root:|\[core\]|ref: refs\/heads|repositoryformatversion/);
    expect(await version()).toBe(before);
  });
});

describe('bodies', () => {
  it('an oversized command body is 413 (declared length and chunked), nothing changes', async () => {
    const before = await version();
    const big = JSON.stringify({ type: 'CommentRequest', request: requestId, text: 'x'.repeat(2 * 1024 * 1024) });
    const declared = await api('POST', '/api/commands', basic('alice', 'alice'), JSON.parse(big) as unknown);
    expect(declared.status).toBe(413);
    const chunkedBody = Buffer.from(big);
    const chunked = await raw('POST', '/api/commands', {
      headers: { authorization: basic('alice', 'alice'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: Buffer.concat([Buffer.from(`${chunkedBody.length.toString(16)}\r\n`), chunkedBody, Buffer.from('\r\n0\r\n\r\n')]),
    });
    expect(chunked.status).toBe(413);
    const token = await api('POST', '/api/tokens', basic('alice', 'alice'), { label: 'y'.repeat(64 * 1024) });
    expect(token.status).toBe(413);
    expect(await version()).toBe(before);
    expect((await api('GET', '/healthz', null)).status).toBe(200);
  });

  it('junk bodies: not JSON is 400, wrong media type 415, unknown fields 422', async () => {
    const before = await version();
    const a = basic('alice', 'alice');
    expect((await raw('POST', '/api/commands', { headers: { authorization: a, 'content-type': 'application/json' }, body: '{"type":' })).status).toBe(400);
    expect((await raw('POST', '/api/commands', { headers: { authorization: a, 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await api('POST', '/api/commands', a, { type: 'CommentRequest', request: requestId, text: 'x', actor: 'pm' })).status).toBe(422);
    expect((await api('POST', '/api/commands', a, { type: 'RecordBuild', push: pushId })).status).toBe(422);
    expect(await version()).toBe(before);
  });
});

describe('refs and push options with control characters', () => {
  it('git itself will not send a ref name with control characters', async () => {
    const before = await version();
    const r = await git(alice, ['push', 'origin', 'sec:refs/pushreq/a\x1b[2Jb']);
    expect(r.code).not.toBe(0);
    expect(await version()).toBe(before);
  });

  it('a hand-made receive-pack with an ESC in the ref name is refused, nothing recorded', async () => {
    const before = await version();
    const ref = 'refs/pushreq/evil\x1b[2J\x07';
    const r = await raw('POST', '/main.git/git-receive-pack', {
      headers: { authorization: basic('alice', 'alice'), 'content-type': 'application/x-git-receive-pack-request' },
      body: receivePackBody(ref, masterSha, []),
    });
    expect(r.status).toBe(200); // git's protocol answers in-band
    expect(r.body).toMatch(/ng refs\/pushreq\/evil/);
    expect(r.body).not.toMatch(/ok refs\/pushreq\/evil/);
    expect(await version()).toBe(before);
    expect((await git(alice, ['ls-remote', 'origin', 'refs/pushreq/*'])).stdout).not.toMatch(/evil/);
  });

  it('a hand-made receive-pack with control characters in a push option is refused, nothing recorded', async () => {
    const before = await version();
    const r = await raw('POST', '/main.git/git-receive-pack', {
      headers: { authorization: basic('alice', 'alice'), 'content-type': 'application/x-git-receive-pack-request' },
      body: receivePackBody('refs/pushreq/evil-opt', masterSha, ['title=\x1b[2J\x1b]0;pwn\x07', 'tags=a']),
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/ng refs\/pushreq\/evil-opt/);
    expect(r.body).toMatch(/control characters/);
    expect(await version()).toBe(before);
    expect((await git(alice, ['ls-remote', 'origin', 'refs/pushreq/evil-opt'])).stdout).toBe('');
  });

  it('git -o title=<ESC sequences> is refused by the server with the option named, nothing recorded', async () => {
    const before = await version();
    await f.commit(alice, 'esc', { 'esc.txt': 'esc\n' });
    const r = await git(alice, ['push', 'origin', 'esc:refs/pushreq/esc', '-o', 'title=\x1b[2J\x1b]0;pwn\x07', '-o', 'description=\x9b2J']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/push option "title": contains control characters/);
    expect(await version()).toBe(before);
    expect((await git(alice, ['ls-remote', 'origin', 'refs/pushreq/esc'])).stdout).toBe('');
  });
});

describe('terminal escapes in titles', () => {
  it.each([
    ['CSI clear screen', '\x1b[2J'],
    ['OSC window title', 'x\x1b]0;pwn\x07'],
    ['8-bit CSI (C1)', 'x\u009b2J'],
    ['newline', 'two\nlines'],
  ])('EditRequest with a title holding %s is refused by the schema (422), nothing changes', async (_what, title) => {
    const before = await version();
    const r = await api('POST', '/api/commands', basic('alice', 'alice'), { type: 'EditRequest', request: requestId, title });
    expect(r.status).toBe(422);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid-field');
    expect(await version()).toBe(before);
  });

  it('OpenPush and CommentRequest refuse escapes too', async () => {
    const before = await version();
    expect((await api('POST', '/api/commands', basic('pm', 'pm'), { type: 'OpenPush', title: '\x1b[31mred' })).status).toBe(422);
    expect((await api('POST', '/api/commands', basic('alice', 'alice'), { type: 'CommentRequest', request: requestId, text: 'hi \x1b]0;pwn\x07' })).status).toBe(422);
    expect((await api('POST', '/api/commands', basic('alice', 'alice'), { type: 'CommentRequest', request: requestId, text: 'hi \u009b2J' })).status).toBe(422);
    expect(await version()).toBe(before);
  });

  it('status and request show never print a raw ESC, even for a title that got into the state another way', async () => {
    // Defence in depth: a title written by an older version or an operator's repair, straight into the state.
    const out = await f.server.dispatcher.dispatch({ type: 'EditRequest', request: requestId, title: 'T\x1b[2J\x1b]0;pwn\x07\u009b2Jitle' } as never, userActor('alice'));
    expect(out).toHaveProperty('ok', true);
    for (const args of [['status'], ['status', '--all'], ['request', 'show', String(requestId)], ['push', 'show', String(pushId)]]) {
      const r = await cli(f.server.url, 'alice', args);
      expect(r.code, args.join(' ')).toBe(0);
      if (args[0] !== 'push') expect(r.stdout).toMatch(/T\[?2?J?0?;?p?w?n?2?J?itle/);
      // eslint-disable-next-line no-control-regex -- finding them is the point
      expect(r.stdout, args.join(' ')).not.toMatch(/[\x1b\x07\u0080-\u009f]/);
    }
  });
});

describe('binding and TLS', () => {
  it('demo users on a non-loopback bind refuse to start, naming the users', async () => {
    await expect(startServer({ host: '0.0.0.0', port: 0, dataDir: join(f.dir, 'wide'), log: () => undefined })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0: users alice, bob, carol, pm have a plaintext password/);
  });

  it('serves git and the API over HTTPS with a configured certificate', async () => {
    const dir = f.dir;
    const cert = join(dir, 'tls.pem');
    const key = join(dir, 'tls.key');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    const config = parseConfig(`server:\n  tls: { cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)} }\n`, 'tls.test');
    const s = await startServer({ config, port: 0, dataDir: join(dir, 'tls-data'), log: () => undefined });
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const remote = `${s.url.replace('://', '://alice:alice@')}/main.git`;
      const ls = await git(dir, ['-c', 'http.sslVerify=false', 'ls-remote', remote]);
      expect(ls.code).toBe(0);
      expect(ls.stdout).toMatch(/refs\/heads\/master/);
      // Without trusting the certificate, git refuses (it really is TLS).
      expect((await git(dir, ['ls-remote', remote])).code).not.toBe(0);
      const ca = await readFile(cert);
      const board = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(new URL('/api/board', s.url), { ca, headers: { authorization: basic('alice', 'alice') } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(board.status).toBe(200);
      expect(JSON.parse(board.body)).toHaveProperty('pushes');
      // Plain HTTP to the TLS port gets nothing useful.
      await expect(fetch(s.url.replace('https:', 'http:') + '/api/board', { headers: { authorization: basic('alice', 'alice') } }).then((r) => r.status)).rejects.toThrow();
    } finally {
      await s.close();
    }
  });
});

describe('brute force', () => {
  it('repeated wrong passwords are slowed down: 429 with Retry-After, even for the right password', async () => {
    const g = await startFixture();
    try {
      const call = (pw: string) => fetch(new URL('/api/whoami', g.server.url), { headers: { authorization: basic('carol', pw) } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await call(`guess${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401]);
      const blocked = await call('carol');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await blocked.json()) as { error: { message: string } }).error.message).toMatch(/too many failed logins/);
    } finally {
      await g.close();
    }
  });
});
