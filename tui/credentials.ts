// Where `pushmanager login` keeps API tokens: one per server, in a 0600 file under the user's config dir.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'pushmanager', 'credentials.json');
}

type Stored = Record<string, { token: string; user: string; expiresAt: string }>;

function load(file: string): Stored {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Stored;
  } catch {
    return {};
  }
}

export function storedToken(server: string, env: NodeJS.ProcessEnv = process.env): { token: string; user: string } | null {
  const t = load(credentialsFile(env))[server.replace(/\/+$/, '')];
  return t && new Date(t.expiresAt).getTime() > Date.now() ? t : null;
}

export function storeToken(server: string, t: { token: string; user: string; expiresAt: string }, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const all = load(file);
  all[server.replace(/\/+$/, '')] = t;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}
