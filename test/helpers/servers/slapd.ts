// Test helper: a real OpenLDAP slapd on a free loopback port, seeded with users and groups, for
// LdapDirectory's tests. Skips (with the reason) where slapd is not installed, except in CI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SlapdUser {
  readonly uid: string;
  readonly password: string;
  readonly cn?: string;
  readonly mail?: string;
  /** Store the password as {SSHA} (default) or in plain text. */
  readonly hashed?: boolean;
}

export interface SlapdGroups {
  /** cn of a groupOfNames → member uids (its `member` values are the users' DNs). */
  readonly groupOfNames?: Readonly<Record<string, readonly string[]>>;
  /** cn of a posixGroup → member uids (its `memberUid` values). */
  readonly posixGroups?: Readonly<Record<string, readonly string[]>>;
}

export interface SlapdOptions {
  readonly users?: readonly SlapdUser[];
  readonly groups?: SlapdGroups;
  /** Offer StartTLS with a certificate for 127.0.0.1 signed by a fresh test CA (needs openssl). */
  readonly tls?: boolean;
}

export interface SlapdServer {
  readonly url: string;
  readonly port: number;
  readonly suffix: string;
  readonly userBase: string;
  readonly groupBase: string;
  /** Service account that may search users and groups. */
  readonly bindDn: string;
  readonly bindPassword: string;
  readonly dir: string;
  /** PEM of the test CA when started with `tls: true`. */
  readonly caFile: string | null;
  /** Stops slapd (the data stays); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops slapd and removes its files. */
  dispose(): Promise<void>;
}

export type SlapdAvailability =
  | { ok: true; slapd: string; slapadd: string; modulePath: string; schemaDir: string }
  | { ok: false; reason: string };

const SUFFIX = 'dc=example,dc=com';
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib/x86_64-linux-gnu/ldap', '/usr/lib/aarch64-linux-gnu/ldap', '/usr/lib64/openldap', '/usr/lib/openldap'];
const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema'];

export const DEFAULT_SLAPD_USERS: readonly SlapdUser[] = [
  { uid: 'alice', password: 'alice-secret', cn: 'Alice Liddell', mail: 'alice@example.com' },
  { uid: 'bob', password: 'bob-secret', cn: 'Bob Builder', mail: 'bob@example.com', hashed: false },
  { uid: 'pm', password: 'pm-secret', cn: 'Pat Pushmaster', mail: 'pm@example.com' },
  { uid: 'root', password: 'root-secret', cn: 'Ada Admin' },
];

export const DEFAULT_SLAPD_GROUPS: SlapdGroups = {
  groupOfNames: { pushmasters: ['pm', 'root'], admins: ['root'] },
  posixGroups: { 'pushmasters-posix': ['pm'] },
};

/**
 * Where slapd is. A missing slapd is a failure in CI (`CI=true` throws) and a skip elsewhere, so
 * the reason shows up in the test name rather than as a silent pass.
 */
export function findSlapd(): SlapdAvailability {
  const slapd = ['/usr/sbin/slapd', '/usr/local/sbin/slapd', '/usr/libexec/slapd'].find((p) => existsSync(p));
  const slapadd = ['/usr/sbin/slapadd', '/usr/local/sbin/slapadd'].find((p) => existsSync(p));
  const modulePath = MODULE_DIRS.find((d) => existsSync(join(d, 'back_mdb.so')) || existsSync(join(d, 'back_mdb.la')));
  const schemaDir = SCHEMA_DIRS.find((d) => existsSync(join(d, 'inetorgperson.schema')));
  const missing = [
    slapd ? null : 'slapd',
    slapadd ? null : 'slapadd',
    modulePath ? null : 'back_mdb module',
    schemaDir ? null : 'schema files',
  ].filter((x) => x !== null);
  if (slapd && slapadd && modulePath && schemaDir) return { ok: true, slapd, slapadd, modulePath, schemaDir };
  const reason = `OpenLDAP not installed (missing ${missing.join(', ')}); apt-get install -y slapd ldap-utils`;
  if (process.env.CI === 'true') throw new Error(`CI needs a real LDAP server: ${reason}`);
  return { ok: false, reason };
}

/** userPassword value in OpenLDAP's salted SHA-1 scheme. */
export function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function ldif(users: readonly SlapdUser[], groups: SlapdGroups, bindPassword: string): string {
  const dnOf = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`;
  const blocks = [
    `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: cn=pushmanager,${SUFFIX}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: pushmanager\nuserPassword: ${sshaPassword(bindPassword)}`,
    ...users.map((u) =>
      [
        `dn: ${dnOf(u.uid)}`,
        'objectClass: inetOrgPerson',
        `uid: ${u.uid}`,
        `cn: ${u.cn ?? u.uid}`,
        `sn: ${u.uid}`,
        ...(u.mail ? [`mail: ${u.mail}`] : []),
        `userPassword: ${u.hashed === false ? u.password : sshaPassword(u.password)}`,
      ].join('\n'),
    ),
    ...Object.entries(groups.groupOfNames ?? {}).map(([cn, members]) =>
      [`dn: cn=${cn},ou=groups,${SUFFIX}`, 'objectClass: groupOfNames', `cn: ${cn}`, ...members.map((m) => `member: ${dnOf(m)}`)].join('\n'),
    ),
    ...Object.entries(groups.posixGroups ?? {}).map(([cn, members], i) =>
      [`dn: cn=${cn},ou=groups,${SUFFIX}`, 'objectClass: posixGroup', `cn: ${cn}`, `gidNumber: ${5000 + i}`, ...members.map((m) => `memberUid: ${m}`)].join('\n'),
    ),
  ];
  return `${blocks.join('\n\n')}\n`;
}

/** A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const steps: string[][] = [
    ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=pushmanager test CA'],
    ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1'],
    ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('san.cnf')],
  ];
  writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  for (const args of steps) {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
  }
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

function conf(a: Extract<SlapdAvailability, { ok: true }>, dir: string, tls: { ca: string; cert: string; key: string } | null): string {
  const tlsLines = tls ? `TLSCACertificateFile ${tls.ca}\nTLSCertificateFile ${tls.cert}\nTLSCertificateKeyFile ${tls.key}\n` : '';
  return `${['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${join(a.schemaDir, `${s}.schema`)}`).join('\n')}
modulepath ${a.modulePath}
moduleload back_mdb
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
${tlsLines}
database mdb
maxsize 10485760
suffix "${SUFFIX}"
rootdn "cn=admin,${SUFFIX}"
rootpw admin-${randomBytes(6).toString('hex')}
directory ${join(dir, 'db')}
# Passwords: only for binding, and each user may change their own; nobody may read them.
access to attrs=userPassword by self write by anonymous auth by * none
# Everything else: readable by any bound identity (the service account), not anonymously.
access to * by users read by * none
`;
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${stderr().trim().slice(-500)}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port} within ${timeoutMs} ms: ${stderr().trim().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts a seeded slapd. Call `findSlapd()` first (and skip when it says so). */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdServer> {
  const a = findSlapd();
  if (!a.ok) throw new Error(a.reason);
  const dir = await mkdtemp(join(tmpdir(), 'pm-slapd-'));
  await mkdir(join(dir, 'db'));
  const confFile = join(dir, 'slapd.conf');
  const ldifFile = join(dir, 'seed.ldif');
  const bindPassword = `svc-${randomBytes(8).toString('hex')}`;
  const tls = options.tls ? makeCertificates(dir) : null;
  await writeFile(confFile, conf(a, dir, tls));
  await writeFile(ldifFile, ldif(options.users ?? DEFAULT_SLAPD_USERS, options.groups ?? DEFAULT_SLAPD_GROUPS, bindPassword));
  const seeded = spawnSync(a.slapadd, ['-f', confFile, '-l', ldifFile], { encoding: 'utf8' });
  if (seeded.status !== 0) throw new Error(`slapadd failed (${seeded.status}): ${seeded.stderr}`);

  let port = await freePort();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child) return;
    // Another process may grab the port between freePort() and slapd's bind: retry on a new one.
    for (let attempt = 0; ; attempt++) {
      let err = '';
      const c = spawn(a.slapd, ['-d', '0', '-h', `ldap://127.0.0.1:${port}/`, '-f', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
      try {
        await waitForPort(port, c, () => err);
        child = c;
        return;
      } catch (e) {
        c.kill('SIGKILL');
        if (attempt >= 2) throw e;
        port = await freePort();
      }
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    get url() {
      return `ldap://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    suffix: SUFFIX,
    userBase: `ou=people,${SUFFIX}`,
    groupBase: `ou=groups,${SUFFIX}`,
    bindDn: `cn=pushmanager,${SUFFIX}`,
    bindPassword,
    dir,
    caFile: tls?.ca ?? null,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
