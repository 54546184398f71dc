// LocalDirectory: users listed in the config (the demo set, or small teams without LDAP), with
// scrypt password hashes; plus the bind-safety check and the `pushmanager hash-password` command.
import type { Readable, Writable } from 'node:stream';
import { DEMO_USERS, localUserSchema, type LocalUserConfig } from './auth-config.js';
import { authFailure, BAD_LOGIN_MESSAGE, type AuthResult, type Directory, type User } from './directory.js';
import { isLoopbackHost } from './net-address.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  parsePasswordHash,
  secretsEqual,
  verifyPassword,
  type ParsedPasswordHash,
} from './password-hash.js';

export { hashPassword, verifyPassword, parsePasswordHash, DEFAULT_SCRYPT_PARAMS } from './password-hash.js';

interface Entry {
  readonly user: User;
  readonly password: string | null;
  readonly hash: ParsedPasswordHash | null;
}

export class LocalDirectory implements Directory {
  private readonly byName = new Map<string, Entry>();
  /** Verified when the user does not exist, so "no such user" costs as long as a wrong password. */
  private readonly decoy: ParsedPasswordHash;

  /** `users` as parsed by the auth config schema (hashes are re-checked here: fail at startup). */
  constructor(users: readonly LocalUserConfig[]) {
    let decoy: ParsedPasswordHash | null = null;
    for (const u of users) {
      const hash = u.passwordHash === undefined ? null : parsePasswordHash(u.passwordHash);
      decoy ??= hash;
      this.byName.set(u.name.toLowerCase(), {
        user: {
          name: u.name,
          displayName: u.displayName ?? u.name,
          email: u.email ?? null,
          pushmaster: u.pushmaster,
          admin: u.admin,
          ...(u.ci && { ci: true }),
        },
        password: u.password ?? null,
        hash,
      });
    }
    this.decoy = decoy ?? {
      ...DEFAULT_SCRYPT_PARAMS,
      N: 2 ** 10, // only plaintext users: nothing slow to imitate
      salt: Buffer.alloc(16),
      hash: Buffer.alloc(32),
    };
  }

  async authenticate(name: string, password: string): Promise<AuthResult> {
    const entry = this.byName.get(name.toLowerCase());
    if (!entry) {
      await verifyPassword(password, this.decoy);
      return authFailure('unknown-user', BAD_LOGIN_MESSAGE);
    }
    const ok = entry.hash ? await verifyPassword(password, entry.hash) : secretsEqual(password, entry.password ?? '');
    return ok ? { ok: true, user: entry.user } : authFailure('bad-credentials', BAD_LOGIN_MESSAGE);
  }

  async lookup(name: string): Promise<User | null> {
    return this.byName.get(name.toLowerCase())?.user ?? null;
  }

  async close(): Promise<void> {}
}

/** The demo users of SPEC §5, parsed (defaults applied). */
export const demoUsers = (): LocalUserConfig[] => DEMO_USERS.map((u) => localUserSchema.parse(u));

export type BindSafety = { ok: true } | { ok: false; message: string; users: readonly string[] };

/**
 * Refuses a server that listens beyond loopback while a configured user has a plaintext password
 * (or no hash): demo passwords are fine on a laptop, not on a network.
 */
export function checkBindSafety(
  host: string,
  users: readonly Pick<LocalUserConfig, 'name' | 'password' | 'passwordHash'>[],
): BindSafety {
  if (isLoopbackHost(host)) return { ok: true };
  const unsafe = users.filter((u) => u.password !== undefined || !u.passwordHash).map((u) => u.name);
  if (unsafe.length === 0) return { ok: true };
  return {
    ok: false,
    users: unsafe,
    message:
      `refusing to listen on ${host || 'all interfaces'}: user${unsafe.length > 1 ? 's' : ''} ${unsafe.join(', ')} ` +
      `ha${unsafe.length > 1 ? 've' : 's'} a plaintext password (or no passwordHash). ` +
      'Plaintext passwords are allowed only on loopback (127.0.0.1, ::1, localhost). ' +
      'Run `pushmanager hash-password`, put its output in passwordHash and remove password, ' +
      'or listen on 127.0.0.1.',
  };
}

export interface HashPasswordIo {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * `pushmanager hash-password`: reads a password from stdin (never from argv, which shells keep in
 * their history and `ps` shows), prints its scrypt hash. On a terminal it prompts twice without
 * echo. Returns the exit code.
 */
export async function runHashPassword(io: HashPasswordIo): Promise<number> {
  let password: string | null;
  if (io.stdin.isTTY && io.stdin.setRawMode) {
    password = await readHidden(io, 'Password: ');
    const again = password === null ? null : await readHidden(io, 'Again: ');
    if (password !== null && again !== password) {
      io.stderr.write('hash-password: the passwords differ\n');
      return 1;
    }
  } else {
    password = await readFirstLine(io.stdin);
  }
  if (!password) {
    io.stderr.write('hash-password: no password given (type it, or pipe it on stdin)\n');
    return 2;
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

async function readFirstLine(stream: Readable): Promise<string | null> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  const line = text.split('\n')[0]?.replace(/\r$/, '') ?? '';
  return line === '' ? null : line;
}

function readHidden(io: HashPasswordIo, prompt: string): Promise<string | null> {
  const { stdin, stderr } = io;
  stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve) => {
    let value = '';
    const finish = (result: string | null) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      resolve(result);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(value);
        if (ch === '\u0003' || ch === '\u0004') return finish(null); // Ctrl-C, Ctrl-D
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
