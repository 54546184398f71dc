// The two proc-receive hooks (Node: dist/hooks/proc-receive.js, Perl: hooks/proc-receive.pl) fed the
// same pkt-line bytes git would send, against a loopback HTTP server that records what they ask: both
// must send the same request and write byte-for-byte the same answer. Child processes are spawned
// asynchronously: the HTTP server they call runs in this process.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_PATH, HOOK_REPORT_TYPE, HOOK_SECRET_HEADER, type HookRequest, type HookResponse } from '../../hooks/hook-protocol.js';
import { encodeHookReport } from '../../hooks/hook-report.js';

const ROOT = process.cwd();
const RUNTIMES = {
  node: [process.execPath, join(ROOT, 'dist', 'hooks', 'proc-receive.js')],
  perl: ['perl', join(ROOT, 'hooks', 'proc-receive.pl')],
} as const;
type Runtime = keyof typeof RUNTIMES;
const SECRET = 'test-secret';

const pkt = (data: Buffer | string) => {
  const b = Buffer.from(data);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const FLUSH = Buffer.from('0000');

/**
 * What git sends: capabilities, commands, then (if push-options were offered) the options. git 2.39's
 * receive-pack writes "atomic" first, then "push-options"; "atomic" only for `git push --atomic`.
 */
function gitInput(commands: string[], options: (string | Buffer)[] | null, atomic = true): Buffer {
  const caps = [...(atomic ? ['atomic'] : []), ...(options ? ['push-options'] : [])].join(' ');
  const parts = [pkt(caps ? `version=1\0${caps}\n` : 'version=1\n'), FLUSH, ...commands.map((c) => pkt(`${c}\n`)), FLUSH];
  if (options) parts.push(...options.map((o) => pkt(Buffer.concat([Buffer.from(o), Buffer.from('\n')]))), FLUSH);
  return Buffer.concat(parts);
}

interface HookRun {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

function runHook(runtime: Runtime, input: Buffer, env: Record<string, string>): Promise<HookRun> {
  const [cmd, script] = RUNTIMES[runtime];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    child.stdin.end(input);
  });
}

// A stand-in for the hook endpoint: records each request and answers with `answer(body)`.
const seen: { headers: http.IncomingHttpHeaders; body: HookRequest }[] = [];
let answer: (body: HookRequest) => HookResponse = () => ({ results: [], messages: [] });
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as HookRequest;
    seen.push({ headers: req.headers, body });
    if (req.url !== HOOK_PATH || req.headers[HOOK_SECRET_HEADER] !== SECRET) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'forbidden', message: 'not allowed' } }));
      return;
    }
    const report = encodeHookReport(answer(body));
    res.writeHead(200, { 'content-type': HOOK_REPORT_TYPE, 'content-length': report.length });
    res.end(report);
  });
});
let url = '';
let deadUrl = '';

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port that was just free: nothing listens there.
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));
});
afterAll(() => new Promise((r) => server.close(r)));

const A = '0'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

/** Runs both hooks on the same input; returns the two runs and the two requests the server saw. */
async function both(input: Buffer, env: Record<string, string>) {
  const runs = {} as Record<Runtime, HookRun & { request?: (typeof seen)[number] }>;
  for (const rt of Object.keys(RUNTIMES) as Runtime[]) {
    seen.length = 0;
    const r = await runHook(rt, input, env);
    runs[rt] = { ...r, request: seen[0] };
  }
  return runs;
}

const envFor = (u: string, user = 'alice') => ({ PUSHMANAGER_HOOK_URL: u, PUSHMANAGER_HOOK_SECRET: SECRET, REMOTE_USER: user });

describe('both hook runtimes speak the same protocol', () => {
  it('send the same JSON for any option text (quotes, backslashes, tabs, unicode, every control and high byte) and write the same answer', async () => {
    const every = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1).filter((b) => b !== 0x0a));
    const options: (string | Buffer)[] = ['title=He said "ship it" \\ C:\\path\\ — café ☕ 🚀', 'description=tab\there, cr\rthere', Buffer.concat([Buffer.from('description='), every]), Buffer.from([0x74, 0x3d, 0xc3, 0x28, 0xff, 0xe2, 0x82]), ''];
    answer = (body) => ({
      messages: [`Pushmanager: ${body.commands.length} refs from ${body.user}`, 'quoted "x" \\ café'],
      results: [
        { ref: body.commands[0]!.ref, ok: true },
        { ref: body.commands[1]!.ref, ok: true, forcedUpdate: true },
        { ref: body.commands[2]!.ref, ok: false, reason: 'master is written only by pushmanager' },
      ],
    });
    const runs = await both(gitInput([`${A} ${B} refs/pushreq/café`, `${B} ${C} refs/pushreq/two`, `${B} ${C} refs/heads/master`], options), envFor(url, 'o\'brien "x"'));
    const { node, perl } = runs;
    expect(node.code).toBe(0);
    expect(perl.code).toBe(0);
    expect(perl.request!.body).toEqual(node.request!.body);
    expect(node.request!.body.user).toBe('o\'brien "x"');
    expect(node.request!.body.commands).toEqual([
      { oldSha: A, newSha: B, ref: 'refs/pushreq/café' },
      { oldSha: B, newSha: C, ref: 'refs/pushreq/two' },
      { oldSha: B, newSha: C, ref: 'refs/heads/master' },
    ]);
    expect(node.request!.body.options.slice(0, 2)).toEqual(['title=He said "ship it" \\ C:\\path\\ — café ☕ 🚀', 'description=tab\there, cr\rthere']);
    expect(node.request!.body.options[2]).toBe(`description=${every.toString('utf8')}`);
    expect(node.request!.body.options[4]).toBe('');
    for (const r of [node, perl]) expect(r.request!.headers.accept).toContain(HOOK_REPORT_TYPE);
    expect(perl.stdout.equals(node.stdout)).toBe(true);
    expect(perl.stderr.equals(node.stderr)).toBe(true);
    const expected = [pkt('version=1\0push-options'), FLUSH, pkt('ok refs/pushreq/café'), pkt('ok refs/pushreq/two'), pkt('option forced-update'), pkt('ng refs/heads/master master is written only by pushmanager'), FLUSH];
    expect(node.stdout.toString()).toBe(Buffer.concat(expected).toString());
    expect(node.stderr.toString()).toBe('Pushmanager: 3 refs from o\'brien "x"\nquoted "x" \\ café\n');
  });

  it('answer "version=1" without push-options when git did not offer them, and send no options', async () => {
    answer = (body) => ({ messages: [], results: body.commands.map((c) => ({ ref: c.ref, ok: true })) });
    const { node, perl } = await both(gitInput([`${B} ${A} refs/pushreq/gone`], null), envFor(url));
    expect(perl.request!.body).toEqual(node.request!.body);
    expect(node.request!.body).toEqual({ user: 'alice', commands: [{ oldSha: B, newSha: A, ref: 'refs/pushreq/gone' }], options: [], atomic: true });
    expect(perl.stdout.toString()).toBe(node.stdout.toString());
    expect(perl.stdout.toString()).toBe(Buffer.concat([pkt('version=1\0'), FLUSH, pkt('ok refs/pushreq/gone'), FLUSH]).toString());
  });

  it.each([
    ['atomic and push-options', true, ['title=x']],
    ['atomic alone', true, null],
    ['push-options alone', false, ['title=x']],
    ['no capabilities', false, null],
  ] as const)('tell the server whether git asked for an atomic push (%s), the same way', async (_, atomic, options) => {
    answer = (body) => ({ messages: [], results: body.commands.map((c) => ({ ref: c.ref, ok: true })) });
    const { node, perl } = await both(gitInput([`${A} ${B} refs/pushreq/a`, `${A} ${C} refs/pushreq/b`], options ? [...options] : null, atomic), envFor(url));
    expect(node.request!.body.atomic).toBe(atomic);
    expect(perl.request!.body).toEqual(node.request!.body);
    expect(node.request!.body.options).toEqual(options ? [...options] : []);
    expect(perl.stdout.equals(node.stdout)).toBe(true);
  });

  it.each(['node', 'perl'] as const)('%s: refuses every ref, clearly, when nothing listens on the hook port', async (rt) => {
    const r = await runHook(rt, gitInput([`${A} ${B} refs/pushreq/a`, `${A} ${C} refs/pushreq/b`], ['title=x']), envFor(deadUrl));
    expect(r.code).toBe(0);
    const why = /pushmanager server unreachable \((connect ECONNREFUSED|connect to 127\.0\.0\.1:\d+: Connection refused)[^)]*\); nothing was recorded, try again/;
    expect(r.stderr.toString()).toMatch(new RegExp(`^${why.source}\\n$`));
    const lines = r.stdout.toString().split(/[0-9a-f]{4}(?=ng )/);
    expect(r.stdout.toString().startsWith(Buffer.concat([pkt('version=1\0push-options'), FLUSH]).toString())).toBe(true);
    expect(lines.filter((l) => l.startsWith('ng refs/pushreq/a ') || l.startsWith('ng refs/pushreq/b '))).toHaveLength(2);
    expect(r.stdout.toString()).toMatch(new RegExp(`ng refs/pushreq/b ${why.source}0000$`));
  });

  it.each(['node', 'perl'] as const)('%s: refuses every ref when the server answers non-200 (a wrong secret), quoting the answer', async (rt) => {
    const r = await runHook(rt, gitInput([`${A} ${B} refs/pushreq/a`], ['title=x']), { ...envFor(url), PUSHMANAGER_HOOK_SECRET: 'wrong' });
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toMatch(/^pushmanager server unreachable \(server answered 403: \{"error":\{"code":"forbidden","message":"not allowed"\}\}\); nothing was recorded, try again\n$/);
    expect(r.stdout.toString()).toMatch(/ng refs\/pushreq\/a pushmanager server unreachable \(server answered 403: .*\); nothing was recorded, try again0000$/);
  });

  it.each(['node', 'perl'] as const)('%s: refuses when PUSHMANAGER_HOOK_URL is missing', async (rt) => {
    const r = await runHook(rt, gitInput([`${A} ${B} refs/pushreq/a`], []), { REMOTE_USER: 'alice' });
    expect(r.code).toBe(0);
    expect(r.stderr.toString()).toMatch(/^pushmanager server unreachable \(.+\); nothing was recorded, try again\n$/);
    expect(r.stdout.toString()).toMatch(/ng refs\/pushreq\/a pushmanager server unreachable/);
  });

  it.each(['node', 'perl'] as const)('%s: fails (exit 1, says why) when git sends a broken pkt-line', async (rt) => {
    const r = await runHook(rt, Buffer.from('zzzz'), envFor(url));
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toMatch(/^pushmanager hook failed: bad pkt-line length\n$/);
  });
});
