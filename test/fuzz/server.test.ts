// Bad-input fuzzing of the RUNNING server (issue 8): random API bodies, raw request paths, and real
// `git push`es with random push options and ref names, against a server started here on port 0 with a
// temp data dir. Nothing may answer 5xx or stop the server; every refusal carries a code and names
// what was wrong; and a refused input leaves the metadata branch exactly where it was.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePushOptions } from '../../hooks/push-options.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { apiTraffic, nastyString, pushOption, rawPath, refName } from './arbitraries.js';
import { params, timeoutFor } from './fuzz-runs.js';

const USERS = { alice: 'alice', pm: 'pm' } as const;
type User = keyof typeof USERS;
const auth = (u: User) => `Basic ${Buffer.from(`${u}:${USERS[u]}`).toString('base64')}`;

let server: RunningServer;
let work: string;
const errorLogs: string[] = [];

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

/** One raw HTTP exchange: the path goes on the wire as given (fetch would normalise it). */
function send(method: string, path: string, opts: { user?: User; body?: string | Buffer; contentType?: string } = {}): Promise<Answer> {
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.user) headers.authorization = auth(opts.user);
    if (opts.contentType) headers['content-type'] = opts.contentType;
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON: the assertions say so */
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function version(): Promise<string | null> {
  const r = await send('GET', '/api/board', { user: 'alice' });
  expect(r.status).toBe(200);
  return (r.json as { version: string | null }).version;
}

/** git, asynchronously: the server runs in this process, so a synchronous child would deadlock it. */
function git(args: string[], cwd = work): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function expectRefusalShape(a: Answer): void {
  const err = (a.json as { error?: { code?: unknown; message?: unknown; data?: { field?: unknown } } } | null)?.error;
  expect(err, `${a.status} without an error object: ${a.text.slice(0, 200)}`).toBeDefined();
  expect(typeof err!.code).toBe('string');
  expect(typeof err!.message).toBe('string');
  if (err!.code === 'invalid-field' && a.status === 422 && typeof err!.data?.field === 'string') expect(err!.message).toContain(err!.data.field);
}

beforeAll(async () => {
  const dir = await tempDir('pm-fuzz-');
  server = await startServer({ port: 0, dataDir: join(dir, 'data'), log: (level, msg) => level === 'error' && errorLogs.push(msg) });
  work = join(dir, 'work');
  const remote = `${server.url.replace('://', '://alice:alice@')}/${server.repo.name}.git`;
  const c = await git(['clone', '-q', remote, work], dir);
  if (c.status !== 0) throw new Error(`clone failed: ${c.stderr}`);
  for (const [k, v] of [['user.name', 'alice'], ['user.email', 'alice@example.com'], ['commit.gpgsign', 'false']]) await git(['config', k!, v!]);
  // Something on the board for commands to act on: two requests and an accepting push.
  for (const n of ['seed-one', 'seed-two']) {
    await git(['commit', '-q', '--allow-empty', '-m', n]);
    const p = await git(['push', '-q', 'origin', `HEAD:refs/pushreq/${n}`, '-o', `title=${n}`]);
    if (p.status !== 0) throw new Error(`seed push failed: ${p.stderr}`);
  }
  const open = await send('POST', '/api/commands', { user: 'pm', contentType: 'application/json', body: JSON.stringify({ type: 'OpenPush', title: 'Fuzz train' }) });
  if (open.status !== 200) throw new Error(`open push failed: ${open.text}`);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** How a body travels: mostly proper JSON, sometimes broken on the wire. */
const wire = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'json' as const }) },
  { weight: 1, arbitrary: nastyString(20).map((junk) => ({ kind: 'garbage' as const, junk })) },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'wrong-type' as const }, { kind: 'truncated' as const }, { kind: 'no-type' as const }) },
);

describe('the running server under random input', () => {
  it(
    'random API bodies from real users never get a 5xx; refusals have a code, name the field, and leave the metadata branch alone',
    async () => {
      await fc.assert(
        fc.asyncProperty(apiTraffic, fc.constantFrom<User>('alice', 'pm'), wire, async (body, user, how) => {
          const json = JSON.stringify(body) ?? 'null';
          const payload = how.kind === 'garbage' ? how.junk : how.kind === 'truncated' ? json.slice(0, Math.max(0, json.length - 1)) : json;
          const contentType = how.kind === 'wrong-type' ? 'text/plain' : how.kind === 'no-type' ? undefined : 'application/json';
          await server.train.idle(); // background work of an earlier accepted command commits on its own
          const before = await version();
          const a = await send('POST', '/api/commands', { user, body: payload, ...(contentType && { contentType }) });
          if (process.env.FUZZ_STATS) process.stderr.write(`STAT ${a.status} ${(a.json as { error?: { code?: string } } | null)?.error?.code ?? "-"}\n`);
          expect(a.status, `POST ${payload.slice(0, 300)} → ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
          if (a.status >= 400) {
            expectRefusalShape(a);
            expect(await version(), `refused ${payload.slice(0, 200)} moved the metadata branch`).toBe(before);
          }
        }),
        params(150),
      );
      expect((await send('GET', '/healthz')).status).toBe(200);
    },
    timeoutFor(150, 60),
  );

  it(
    'random raw request paths (any method, with and without credentials) never get a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(rawPath, rawPath.map((p) => `/api${p.startsWith('/') ? '' : '/'}${p}`), rawPath.map((p) => `/main.git${p.startsWith('/') ? '' : '/'}${p}`)),
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
          fc.option(fc.constantFrom<User>('alice', 'pm'), { nil: undefined }),
          async (path, method, user) => {
            let a: Answer;
            // Node's client puts only \u0021-\u00ff on the wire as given; percent-encode the rest so the path still
            // reaches the server (with its %2e, %2f, %00, dot segments and backslashes intact).
            const wirePath = path.replace(/[^\u0021-\u00ff]/gu, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
            if (process.env.FUZZ_STATS) process.stderr.write(`PATH ${JSON.stringify(wirePath)}\n`);
            try {
              a = await send(method, wirePath, { ...(user && { user }) });
            } catch (e) {
              // Node's client refuses to put some paths on the wire at all (spaces, controls): not our server.
              if ((e as { code?: string }).code === 'ERR_UNESCAPED_CHARACTERS' || (e as { code?: string }).code === 'ERR_INVALID_CHAR') return;
              throw e;
            }
            if (process.env.FUZZ_STATS) process.stderr.write(`STAT ${a.status}\n`);
            expect(a.status, `${method} ${JSON.stringify(wirePath)} → ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
            // An empty 400 is Node's own HTTP parser refusing a malformed request line before our code runs.
            if (a.status >= 400 && method !== 'HEAD' && !(a.status === 400 && a.text === '')) expectRefusalShape(a);
          },
        ),
        params(150),
      );
      expect((await send('GET', '/healthz')).status).toBe(200);
    },
    timeoutFor(150, 40),
  );

  it(
    'random git push options and ref names: accepted (a request appears) or refused naming the option, and a refusal changes nothing',
    async () => {
      // git will not carry a newline or NUL in a push option; everything else goes on the wire.
      // eslint-disable-next-line no-control-regex
      const option = pushOption.filter((o) => !/[\n\u0000]/.test(o));
      let n = 0;
      await fc.assert(
        fc.asyncProperty(refName, fc.array(option, { maxLength: 4 }), async (name, options) => {
          const c = await git(['commit', '-q', '--allow-empty', '-m', `fuzz ${++n}`]);
          expect(c.status, c.stderr).toBe(0);
          const sha = (await git(['rev-parse', 'HEAD'])).stdout.trim();
          const ref = `refs/pushreq/${name}`;
          // An accepted push's conflict findings are committed after its answer: let them land first.
          await server.train.idle();
          const before = await version();
          const p = await git(['push', '--porcelain', 'origin', `HEAD:${ref}`, ...options.flatMap((o) => ['-o', o])]);
          const shown = `git push ${ref} ${JSON.stringify(options)} → exit ${p.status}\n${p.stdout}${p.stderr}`;
          const board = (await send('GET', '/api/board?all=1', { user: 'alice' })).json as { version: string; requests: { ref: string; sha: string; title: string }[] };
          // What reaches the server: argv is UTF-8, so a lone surrogate arrives as U+FFFD.
          const expected = parsePushOptions(options.map((o) => Buffer.from(o, 'utf8').toString('utf8')));
          if (p.status === 0) {
            const r = board.requests.find((x) => x.ref === ref && x.sha === sha);
            expect(r, `accepted but no request for ${ref} at ${sha}: ${shown}`).toBeDefined();
            expect(expected.ok, `accepted options the parser refuses: ${shown}`).toBe(true);
            if (expected.ok && expected.value.title !== undefined) expect(r!.title).toBe(expected.value.title);
            return;
          }
          const out = `${p.stdout}\n${p.stderr}`;
          const line = out.split('\n').find((l) => l.startsWith('!') && l.includes(ref) && l.includes('remote rejected'));
          expect(line, `refused without a "! … [remote rejected]" line for the ref: ${shown}`).toBeDefined();
          // The option the parser names, or the watcher check, which is the only later refusal of an option.
          const named = expected.ok ? 'watchers' : expected.option;
          expect(line, `rejected line does not name option "${named}": ${shown}`).toContain(`push option "${named}`);
          expect(board.version, `refused push moved the metadata branch: ${shown}`).toBe(before);
        }),
        params(20),
      );
      expect((await send('GET', '/healthz')).status).toBe(200);
    },
    timeoutFor(20, 4_000, 120_000),
  );

  it('logged no internal errors while fuzzed', () => {
    expect(errorLogs).toEqual([]);
  });
});

describe('bugs found by fuzzing the running server stay fixed', () => {
  it('GET // answers 500: the path passes checkRawPath, then new URL("//", base) throws in route()', async () => {
    const a = await send('GET', '//');
    expect(a.status).toBeLessThan(500);
  });

  it('a chunked API body over maxBodyBytes resets the connection instead of answering 413', async () => {
    // server/http/http-util.ts readBody: with no content-length, it rejects with the 413 and then calls
    // req.destroy(), which closes the socket before route() can send the answer; the client sees ECONNRESET.
    const u = new URL(server.url);
    const status = await new Promise<number | string>((resolve) => {
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/commands', agent: false, headers: { authorization: auth('alice'), 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', (e) => resolve((e as { code?: string }).code ?? 'error'));
      for (let i = 0; i < 32; i++) req.write('x'.repeat(64 * 1024));
      req.end();
    });
    expect(status).toBe(413);
  });
});
