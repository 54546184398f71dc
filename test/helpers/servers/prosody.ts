// Test helper: a real Prosody (XMPP) on a free loopback c2s port with accounts registered through
// prosodyctl; no s2s, no HTTP, no TLS, a fast password hash (4096 iterations) so logins are quick.
import { client, xml, type Client } from '@xmpp/client';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary, freePort, spawnUntilReady, stopProcess, type Running } from './server-process.js';

const run = promisify(execFile);

export function findProsody(): { ok: true; prosody: string; prosodyctl: string } | { ok: false; reason: string } {
  const install = 'apt-get install -y prosody';
  const p = findBinary(['/usr/bin/prosody', '/usr/local/bin/prosody'], 'prosody', install);
  if (!p.ok) return p;
  const ctl = findBinary(['/usr/bin/prosodyctl', '/usr/local/bin/prosodyctl'], 'prosodyctl', install);
  if (!ctl.ok) return ctl;
  return { ok: true, prosody: p.path, prosodyctl: ctl.path };
}

export interface ProsodyServer {
  readonly host: string;
  readonly port: number;
  readonly domain: string;
  /** `xmpp://127.0.0.1:PORT` */
  readonly service: string;
  readonly dir: string;
  register(user: string, password: string): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

function conf(port: number, dir: string, domain: string): string {
  const q = (s: string) => JSON.stringify(s);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return `-- generated for a test
pidfile = ${q(join(dir, 'prosody.pid'))}
data_path = ${q(join(dir, 'data'))}
certificates = ${q(join(dir, 'certs'))}
log = { { levels = { min = "info" }, to = "console" } }
daemonize = false
${root ? 'run_as_root = true\nprosody_user = "root"\nprosody_group = "root"' : ''}
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = {}
s2s_ports = {}
http_ports = {}
https_ports = {}
component_ports = {}
legacy_ssl_ports = {}
modules_enabled = { "roster", "saslauth", "disco", "ping", "offline" }
modules_disabled = { "s2s", "http", "tls", "c2s_direct_tls", "http_files", "bosh", "websocket", "announce", "register" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
default_iteration_count = 4096
muc_room_locking = false
storage = "internal"
VirtualHost ${q(domain)}
`;
}

export async function startProsody(opts: { domain?: string; users?: readonly { user: string; password: string }[] } = {}): Promise<ProsodyServer> {
  const bin = findProsody();
  if (!bin.ok) throw new Error(bin.reason);
  const domain = opts.domain ?? 'xmpp.test';
  const dir = await mkdtemp(join(tmpdir(), 'pm-prosody-'));
  await mkdir(join(dir, 'data'));
  await mkdir(join(dir, 'certs'));
  let port = await freePort();
  const confFile = join(dir, 'prosody.cfg.lua');
  await writeFile(confFile, conf(port, dir, domain));
  let running: Running | null = null;

  const register = async (user: string, password: string) => {
    await run(bin.prosodyctl, ['--config', confFile, 'register', user, domain, password]);
  };
  const start = async () => {
    if (running) return;
    await writeFile(confFile, conf(port, dir, domain));
    running = await spawnUntilReady(bin.prosody, ['--config', confFile, '-F'], new RegExp(`Activated service 'c2s' on \\[127\\.0\\.0\\.1\\]:${port}`));
  };
  const stop = async () => {
    const r = running;
    running = null;
    if (r) await stopProcess(r.child);
  };

  for (const u of opts.users ?? []) await register(u.user, u.password);
  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
      port = await freePort();
    }
  }
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    domain,
    get service() {
      return `xmpp://127.0.0.1:${port}`;
    },
    dir,
    register,
    stop,
    start,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An XMPP account logged in to `server` that records the bodies of the chat messages it receives. */
export async function xmppInbox(server: ProsodyServer, username: string, password: string): Promise<{ bodies: string[]; stop: () => Promise<void> }> {
  const x: Client = client({ service: server.service, domain: server.domain, username, password, resource: 'test' });
  const bodies: string[] = [];
  x.on('error', () => undefined);
  x.on('stanza', (s) => {
    if (s.is('message') && s.attrs.type === 'chat') {
      const body = s.getChildText('body');
      if (body) bodies.push(body);
    }
  });
  await x.start();
  await x.send(xml('presence'));
  return { bodies, stop: () => x.stop().then(() => undefined) };
}
