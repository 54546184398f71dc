#!/usr/bin/env node
// git's proc-receive hook for the managed repository: a relay that knows no protocol, the same as
// proc-receive.pl (which managed-repo.ts prefers where perl can run it: it starts faster). It connects to
// the server's Unix socket (PUSHMANAGER_HOOK_SOCKET), sends the per-push token on one line, pipes its
// stdin (receive-pack) to the socket, and writes the socket's band frames (git's side-band: 1 stdout,
// 2 stderr, 3 stderr then exit 1; a flush ends) to its stdout and stderr. The server speaks proc-receive.
import { connect } from 'node:net';
import { BAND } from './pkt-line.js';
import { HOOK_SOCKET_ENV, PUSH_TOKEN_ENV } from './hook-protocol.js';

// Pipes on Linux are written synchronously, so exiting right after a write loses nothing.
function exit(code: number, stderr?: string): never {
  if (stderr) process.stderr.write(stderr);
  process.exit(code);
}
const failed = (why: string) => exit(1, `pushmanager hook failed: ${why}\n`);
const unreachable = (why: string) => exit(1, `pushmanager server unreachable (${why.replace(/[\r\n]+/g, ' ')}); nothing was recorded, try again\n`);

const path = process.env[HOOK_SOCKET_ENV] ?? '';
if (!path) unreachable(`${HOOK_SOCKET_ENV} is not set`);
const token = (process.env[PUSH_TOKEN_ENV] ?? '').replace(/[\r\n]/g, '');

let connected = false;
let buf: Buffer = Buffer.alloc(0);
const sock = connect(path);
sock.on('connect', () => {
  connected = true;
  sock.write(`${token}\n`);
  process.stdin.pipe(sock);
});
sock.on('error', (e) => (connected ? failed(`the connection to the server failed: ${e.message}`) : unreachable(`connect to ${path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
sock.on('end', () => failed('the server closed the connection without an answer'));
sock.on('data', (chunk: Buffer) => {
  buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
  while (buf.length >= 4) {
    const hex = buf.subarray(0, 4).toString('latin1');
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) failed('the server sent a bad frame');
    const len = parseInt(hex, 16);
    if (len === 0) exit(0);
    if (len < 5) failed('the server sent a bad frame');
    if (buf.length < len) return;
    const band = buf[4];
    const data = buf.subarray(5, len);
    buf = buf.subarray(len);
    if (band === BAND.stdout) process.stdout.write(data);
    else if (band === BAND.stderr) process.stderr.write(data);
    else if (band === BAND.fatal) exit(1, data.toString('utf8'));
    else failed('the server sent a bad frame');
  }
});
process.stdin.on('error', (e) => failed(`reading from git: ${e.message}`));
