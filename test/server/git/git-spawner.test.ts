// The git spawner (server/git/git-spawner.ts): the real Perl process, on a real socket, starting real git.
// It runs only its fixed kinds of process, takes only its known environment keys, and stops by its pid.
import { execFileSync } from 'node:child_process';
import { mkdtemp, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHeader, startGitSpawner, type GitSpawner } from '../../../server/git/git-spawner.js';
import { until } from '../../helpers/until.js';

/** Everything the spawner's child writes on the connection, until it closes it. */
async function output(sock: import('node:net').Socket): Promise<string> {
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.on('error', () => undefined); // refused: the spawner closes with our bytes unread (a reset)
  const closed = new Promise((r) => sock.once('close', r));
  sock.end();
  await closed;
  return Buffer.concat(chunks).toString('latin1');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('git spawner', () => {
  let dir: string;
  let spawner: GitSpawner;
  const env = () => ({ GIT_PROJECT_ROOT: dir, GIT_HTTP_EXPORT_ALL: '1', PATH_INFO: '/r.git/info/refs', REQUEST_METHOD: 'GET', QUERY_STRING: 'service=git-upload-pack' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-spawner-'));
    execFileSync('git', ['init', '-q', '--bare', join(dir, 'r.git')]);
    spawner = await startGitSpawner(join(dir, 'run', 'git-spawner.sock'));
  });
  afterAll(async () => {
    await spawner?.close();
  });

  it('listens on a socket only its user can reach', async () => {
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
    expect((await stat(spawner.socketPath)).mode & 0o777).toBe(0o600);
  });

  it('runs git http-backend on the connection and sends the child pid first', async () => {
    const out = await output(spawner.open('http-backend', env()).socket);
    const [pid, ...rest] = out.split('\n');
    expect(Number(pid)).toBeGreaterThan(0);
    expect(rest.join('\n')).toMatch(/^Content-Type: application\/x-git-upload-pack-advertisement/im);
  });

  it('runs receive-pack directly in the repository it is given', async () => {
    const out = await output(spawner.open('receive-refs', { PUSHMANAGER_GIT_DIR: join(dir, 'r.git') }).socket);
    // receive-pack's own advertisement: no CGI headers, an empty repository's capabilities line.
    expect(out).toMatch(/^\d+\n[0-9a-f]{4}0{40} capabilities\^\{\}\0.*report-status/s);
  });

  it('starts nothing for an unknown kind, a key it does not know, or a relative repository path', async () => {
    const raw = (header: Buffer) => {
      const s = connect(spawner.socketPath);
      s.write(header);
      return output(s);
    };
    const sh = Buffer.from('sh\0PATH_INFO=/x');
    expect(await raw(Buffer.concat([Buffer.from(`${sh.length}\n`), sh]))).toBe('');
    expect(await raw(spawnHeader('http-backend', { ...env(), LD_PRELOAD: '/tmp/evil.so' }))).toBe('');
    expect(await raw(Buffer.from('not a length\n'))).toBe('');
    // The child exits before a word (and before exec) when the repository path is not absolute.
    expect(await raw(spawnHeader('receive-rpc', { PUSHMANAGER_GIT_DIR: 'r.git' }))).toBe('');
    // And it still serves.
    expect(await output(spawner.open('http-backend', env()).socket)).toMatch(/upload-pack-advertisement/);
  });

  it('a SIGTERM from outside (the process group stopped: Ctrl-C, systemd) is logged as a stop; any other end as an error', async () => {
    const lines: string[] = [];
    const log = (level: string, msg: string) => lines.push(`${level} ${msg}`);
    const stopped = await startGitSpawner(join(dir, 'run3', 'git-spawner.sock'), { log });
    process.kill(stopped.pid, 'SIGTERM');
    await until('the stop to be logged', () => lines.length > 0);
    expect(lines).toEqual([`info the git spawner (pid ${stopped.pid}) was stopped (SIGTERM); git requests fork from the server until the next start`]);
    await stopped.close();
    const killed = await startGitSpawner(join(dir, 'run4', 'git-spawner.sock'), { log });
    process.kill(killed.pid, 'SIGKILL');
    await until('the crash to be logged', () => lines.length > 1);
    expect(lines[1]).toMatch(new RegExp(`^error the git spawner \\(pid ${killed.pid}\\) exited \\(SIGKILL\\); git requests now fork from the server`));
    await killed.close();
  });

  it('stops by its pid when closed, and removes its socket', async () => {
    const other = await startGitSpawner(join(dir, 'run2', 'git-spawner.sock'));
    expect(alive(other.pid)).toBe(true);
    await other.close();
    expect(other.alive).toBe(false);
    expect(alive(other.pid)).toBe(false);
    await expect(stat(other.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
