// The client's job calls over real HTTP (an in-process node:http server speaking the wire contract of
// state/wire.ts, until the server side of issue 15 lands): GET /api/jobs/:id, the log followed as a
// text/plain stream chunk by chunk while it is still being written, and retry/cancel through
// POST /api/commands with the credentials.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PushmanagerClient, ServerRefusal } from '../../tui/client.js';
import { jobDetailOf, jobsBoard } from './fixtures.js';

let server: http.Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = null;
});

async function serve(handler: http.RequestListener): Promise<PushmanagerClient> {
  server = http.createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return new PushmanagerClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, user: 'pm', password: 'pm' });
}

describe('job calls', () => {
  it('follows a log while it is written: a chunk is yielded before the next one is sent', async () => {
    let writeNext: (() => void) | null = null;
    const seen: { url: string; accept: string | undefined }[] = [];
    const client = await serve((req, res) => {
      seen.push({ url: req.url ?? '', accept: req.headers.accept });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write('line 1\n');
      // The rest only after the client has shown the first: proves it streams rather than buffers.
      writeNext = () => {
        // A multi-byte character split across two chunks must come out whole.
        const bytes = Buffer.from('line 2 ✓\n');
        res.write(bytes.subarray(0, 8));
        setTimeout(() => res.end(bytes.subarray(8)), 10);
      };
    });
    const chunks: string[] = [];
    for await (const c of client.followJobLog('j 4', new AbortController().signal)) {
      chunks.push(c);
      if (chunks.length === 1) writeNext!();
    }
    expect(chunks[0]).toBe('line 1\n');
    expect(chunks.join('')).toBe('line 1\nline 2 ✓\n');
    expect(seen).toEqual([{ url: '/api/jobs/j%204/log?follow=1', accept: 'text/plain' }]);
  });

  it('ends quietly when aborted mid-stream, and names the refusal of an unknown job', async () => {
    const client = await serve((req, res) => {
      if (req.url?.startsWith('/api/jobs/nope')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'not-found', message: 'no job nope' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
    });
    const ctl = new AbortController();
    const got: string[] = [];
    for await (const c of client.followJobLog('j4', ctl.signal)) {
      got.push(c);
      ctl.abort();
    }
    expect(got).toEqual(['first\n']);
    const err = await (async () => {
      try {
        for await (const _ of client.followJobLog('nope', new AbortController().signal)) void _;
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ServerRefusal);
    expect(err).toMatchObject({ status: 404, code: 'not-found', message: 'no job nope' });
  });

  it('reads a job and sends retry and cancel as commands, with the credentials', async () => {
    const detail = jobDetailOf(jobsBoard().pushes[0]!.jobs![1]!, 3);
    const bodies: unknown[] = [];
    const auth: (string | undefined)[] = [];
    const client = await serve((req, res) => {
      auth.push(req.headers.authorization);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        if (req.method === 'GET' && req.url === '/api/jobs/j2') return res.end(JSON.stringify(detail));
        bodies.push({ method: req.method, url: req.url, body: JSON.parse(body) as unknown });
        res.end(JSON.stringify({ ok: true, version: 'v', events: [], changes: [], pushes: [], requests: [] }));
      });
    });
    expect(await client.job('j2')).toEqual(detail);
    await client.retryJob('j2');
    await client.cancelJob('j4');
    expect(bodies).toEqual([
      { method: 'POST', url: '/api/commands', body: { type: 'RetryJob', job: 'j2' } },
      { method: 'POST', url: '/api/commands', body: { type: 'CancelJob', job: 'j4' } },
    ]);
    expect(new Set(auth)).toEqual(new Set([`Basic ${Buffer.from('pm:pm').toString('base64')}`]));
  });
});
