// Issue 13, the board's view of a push and a request, end to end through the real server, the built CLI
// and the HTTP API: a finished push keeps listing its requests (3), watchers are known users whatever
// the door (4), a message to a whole push reaches its pushees, not its pickmes (5), and a request's
// history shows the push-wide steps that changed it (12).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config/config.js';
import { GitCli } from '../../server/git/git-cli.js';
import { GitStateStore } from '../../server/store/git-state-store.js';
import type { Command } from '../../state/commands.js';
import { decide, systemActor, userActor, type Actor, type DecideContext } from '../../state/decide.js';
import { commitMessage } from '../../state/describe.js';
import { isDomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import type { PushId, RequestId } from '../../state/model.js';
import { expandActions } from '../../state/allowed-actions.js';
import type { StatusView } from '../../state/status-view.js';
import type { BoardView } from '../../state/wire.js';
import { cli, commitOnBranch, git, startFixture, type Fixture } from '../helpers/server-fixture.js';
import { findSlapd, startSlapd, type SlapdServer } from '../helpers/servers/slapd.js';

interface LogLine {
  readonly key: string;
  readonly to: readonly string[];
  readonly subject?: string;
  readonly text: string;
}

describe('the board: finished pushes, watchers, push messages, request history', () => {
  let f: Fixture;
  let alice: string;
  let carol: string;
  const ids: Record<string, number> = {};
  const run = (user: string | null, args: string[]) => cli(f.server.url, user, args);
  const ok = async (user: string, args: string[]) => {
    const r = await run(user, args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const status = async (): Promise<StatusView> => JSON.parse((await ok('pm', ['status', '--json', '--all'])).stdout) as StatusView;
  async function request(work: string, name: string, opts: string[] = []): Promise<number> {
    await commitOnBranch(work, name, { [`${name}.txt`]: `${name}\n` });
    const r = await git(work, ['push', 'origin', `${name}:refs/pushreq/${name}`, ...opts]);
    expect(r.code, r.stderr).toBe(0);
    return Number(/request (\d+) ".*" opened/.exec(r.stderr)![1]);
  }
  const api = (user: string, method: string, path: string, body?: unknown) =>
    fetch(new URL(path, f.server.url), {
      method,
      headers: { authorization: `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const logFile = () => join(f.dir, 'data', 'notifications.log');
  const messages = async (text: string): Promise<LogLine[]> =>
    (await readFile(logFile(), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.text.includes(text));

  /** The notification log's deliveries of a message, once there are any (the outbox sends in the background). */
  async function delivered(text: string): Promise<LogLine[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = await messages(text);
      if (m.length) return m;
      if (Date.now() > deadline) throw new Error(`no delivery of "${text}" in ${logFile()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    f = await startFixture();
    [alice, carol] = await Promise.all([f.clone('alice'), f.clone('carol')]);
  });
  afterAll(async () => f?.close());

  it('push 1: alice (watched by bob) accepted, carol only a pickme', async () => {
    await ok('pm', ['push', 'open', '--title', 'Board one']);
    ids.a = await request(alice, 'board-a', ['-o', 'title=Board A', '-o', 'watchers=bob']);
    ids.c = await request(carol, 'board-c', ['-o', 'title=Board C']);
    await ok('pm', ['push', 'accept', '1', String(ids.a)]);
    const b = await status();
    expect(b.requests.find((r) => r.id === ids.a)).toMatchObject({ state: 'added', push: 1 });
    expect(b.requests.find((r) => r.id === ids.c)).toMatchObject({ state: 'pickme', push: 1 });
  });

  it("GET /api/board sends the user's actions compact (each row once), and they expand to the server's answers", async () => {
    const r = await api('carol', 'GET', '/api/board');
    expect(r.status).toBe(200);
    const text = await r.text();
    const actions = (JSON.parse(text) as BoardView).actions!;
    // The wire form: ids point at rows; no row or reason is repeated.
    expect(Array.isArray(actions.rows) && Array.isArray(actions.reasons)).toBe(true);
    expect(new Set(actions.rows.map((x) => JSON.stringify(x))).size).toBe(actions.rows.length);
    expect(new Set(actions.reasons).size).toBe(actions.reasons.length);
    const a = expandActions(actions);
    expect(a.requests[ids.c!]!.unpickme).toEqual({ ok: true });
    expect(a.requests[ids.a!]!.remove).toMatchObject({ ok: false, code: 'not-pushmaster-of-push', reason: 'carol is not the pushmaster of push 1 (pm is) and cannot remove from push 1 [not-pushmaster-of-push]' });
    expect(a.requests[ids.c!]!.verify).toMatchObject({ ok: false, code: 'illegal-transition', reason: expect.stringContaining(`cannot verify request ${ids.c}`) });
    expect(a.pushes[1]!.stage).toMatchObject({ ok: false, code: 'not-pushmaster-of-push' });
    expect(a.openPush).toMatchObject({ ok: false, code: 'not-pushmaster' });
    // The CLI's text board reads the same answer: carol may unpick her request.
    expect((await ok('carol', ['status'])).stdout).toMatch(new RegExp(`you may \\(pushmanager request VERB ${ids.c}\\):.*unpickme`));
  });

  it('request edit --watchers names an unknown user: refused, naming it, through the CLI and the API alike; nothing changes', async () => {
    const edit = await run('alice', ['request', 'edit', String(ids.a), '--watchers', 'bob,nobody']);
    expect(edit.code).toBe(1);
    expect(edit.stderr).toMatch(/watchers.*no user "nobody"/);

    const r = await api('alice', 'POST', '/api/commands', { type: 'EditRequest', request: ids.a, watchers: ['ghost'] });
    expect(r.status).toBe(422);
    const body = (await r.json()) as { error: { code: string; message: string; data: { field?: string } } };
    expect(body.error).toMatchObject({ code: 'invalid-field', data: { field: 'watchers' } });
    expect(body.error.message).toMatch(/no user "ghost"/);

    expect((await status()).requests.find((x) => x.id === ids.a)!.watchers).toEqual(['bob']);
    // A known user is still fine; so is keeping the list as it is.
    await ok('alice', ['request', 'edit', String(ids.a), '--watchers', 'bob,carol']);
    await ok('alice', ['request', 'edit', String(ids.a), '--watchers', 'bob']);
    expect((await status()).requests.find((x) => x.id === ids.a)!.watchers).toEqual(['bob']);
  });

  it('push message with no --state reaches the pushees (owners and watchers of accepted requests), not the pickmes; --state pickme reaches those', async () => {
    await ok('pm', ['push', 'message', '1', 'whole push hello']);
    const [whole, ...more] = await delivered('whole push hello');
    expect(more).toEqual([]);
    expect([...whole!.to].sort()).toEqual(['alice', 'bob']);

    await ok('pm', ['push', 'message', '1', '--state', 'pickme', 'pickmes hello']);
    const [picks] = await delivered('pickmes hello');
    expect(picks!.to).toEqual(['carol']);

    const help = await run(null, ['push', 'message', '--help']);
    expect(help.stdout).toMatch(/accepted/);
    expect(help.stdout).toMatch(/--state pickme/);
  });

  it('a certified push keeps listing its requests (status --json and the text board)', async () => {
    await ok('pm', ['push', 'stage', '1', '--env', 'stage-a']);
    await ok('alice', ['request', 'verify', String(ids.a)]);
    await ok('pm', ['push', 'bless', '1']);
    await ok('pm', ['push', 'certify', '1']);
    const b = await status();
    expect(b.pushes.find((p) => p.id === 1)).toMatchObject({ state: 'live', requests: [ids.a] });
    expect(b.requests.find((r) => r.id === ids.a)).toMatchObject({ state: 'live', push: 1 });
    // carol's pickme went back to waiting: it was never in the live push.
    expect(b.requests.find((r) => r.id === ids.c)).toMatchObject({ state: 'requested', push: null });
    const text = await ok('pm', ['status']);
    expect(text.stdout).toMatch(/push 1 "Board one" live.*, 1 requests?/);
    const shown = await ok('pm', ['push', 'show', '1']);
    expect(shown.stdout).toMatch(new RegExp(`requests.*#${ids.a}\\b`));
  });

  it('a discarded push lists the requests it held when it was discarded, which are waiting again', async () => {
    await ok('pm', ['push', 'open', '--title', 'Board two']);
    ids.d = await request(alice, 'board-d', ['-o', 'title=Board D']);
    // carol's request was waiting: the new push took it as a pickme.
    await ok('pm', ['push', 'accept', '2', String(ids.d)]);
    await ok('pm', ['push', 'discard', '2', '--reason', 'bad day']);
    const b = await status();
    const p2 = b.pushes.find((p) => p.id === 2)!;
    expect(p2.state).toBe('discarded');
    expect([...p2.requests].sort((x, y) => x - y)).toEqual([ids.c!, ids.d!].sort((x, y) => x - y));
    for (const id of [ids.c, ids.d]) expect(b.requests.find((r) => r.id === id)).toMatchObject({ state: 'requested', push: null });
  });

  it('request show lists every step that changed the request: its own commands and the push-wide stage, bless, certify, discard', async () => {
    const a = await ok('alice', ['request', 'show', String(ids.a)]);
    for (const step of [/Open request/, /Accept request/, /Stage push 1/, /Verify request/, /Bless push 1/, /Certify push 1/])
      expect(a.stdout).toMatch(step);
    // Edits that were refused left no trace; the two that went through did.
    expect(a.stdout.match(/Edit request/g)).toHaveLength(2);

    const d = await ok('alice', ['request', 'show', String(ids.d)]);
    expect(d.stdout).toMatch(/Discard push 2/);
    // Newest first, through the API too.
    const r = await api('alice', 'GET', `/api/requests/${ids.c}`);
    const body = (await r.json()) as { history: { subject: string; command: string }[] };
    expect(body.history[0]!.subject).toBe('Discard push 2');
    expect(body.history.map((h) => h.subject)).toContain('Certify push 1'); // returned to waiting by push 1's certify
    expect(body.history.map((h) => h.subject)).not.toContain('Stage push 1'); // a pickme is not staged

    // With plain git too: each push-wide step names every request it changed in a trailer.
    await git(alice, ['fetch', '-q', 'origin', 'pushmanager/meta']);
    const log = await git(alice, ['log', '--format=%s', `--grep=^Pushmanager-Request: ${ids.a}$`, 'FETCH_HEAD']);
    for (const step of ['Stage push 1 to stage-a', 'Bless push 1', 'Certify push 1']) expect(log.stdout.split('\n')).toContain(step);
  });
});

describe('request history on a metadata branch written before every changed request had its own trailer', () => {
  it('still lists the push-wide steps: history follows the request file, not only the trailers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pm-history-'));
    try {
      execFileSync('git', ['init', '-q', '--bare', dir]);
      const store = new GitStateStore(new GitCli(dir), dir);
      const pm: Actor = userActor('pm', { pushmaster: true });
      const alice: Actor = userActor('alice');
      let second = 0;
      // Each command committed with the message older servers wrote: trailers only for the ids its events name.
      const apply = async (cmd: Command, actor: Actor, extra: Partial<DecideContext> = {}) => {
        const snap = await store.read();
        const ctx: DecideContext = { actor, now: new Date(Date.UTC(2026, 0, 1, 0, 0, second++)).toISOString(), ...extra };
        const events = decide(snap.board, cmd, ctx);
        if (isDomainError(events)) throw new Error(events.message);
        const board = evolveAll(snap.board, events);
        const r = await store.commit({ expected: snap.version, board, events, message: commitMessage(cmd, events, actor), at: ctx.now });
        expect(r.ok).toBe(true);
        return events;
      };
      const sha = (c: string) => c.repeat(40);
      await apply({ type: 'OpenPush', title: 'Old', pushType: 'regular' }, pm);
      await apply({ type: 'OpenRequest', ref: 'refs/pushreq/old', sha: sha('a'), autoPickme: true }, alice);
      await apply({ type: 'AcceptRequests', push: 1 as PushId, requests: [1 as RequestId] }, pm);
      await apply({ type: 'RecordBuild', push: 1 as PushId, deploySha: sha('b'), baseSha: sha('c'), merges: [{ request: 1 as RequestId, sha: sha('a'), commit: sha('b') }], dropped: [] }, systemActor('deploy-build'));
      const staged = await apply({ type: 'StagePush', push: 1 as PushId, env: 'stage-a' }, pm);
      await apply({ type: 'BlessPush', push: 1 as PushId, force: true }, pm);
      // The messages named only the push for these steps: that is what made them vanish from `request show`.
      expect(commitMessage({ type: 'BlessPush', push: 1 as PushId, force: true }, [], pm).trailers.filter(([k]) => k === 'Pushmanager-Request')).toEqual([]);
      expect(staged.map((e) => e.type)).toEqual(['PushStaged']);
      const h = await store.history({ request: 1 });
      expect(h.map((e) => e.subject)).toEqual(['Bless push 1 (forced)', 'Stage push 1 to stage-a', 'Accept request 1 into push 1', 'Open request 1: old']);
      // Bounded by the request's creation (what the API asks), the walk stops early and misses nothing.
      const since = (await store.read()).board.requests[1]!.createdAt;
      expect(await store.history({ request: 1, since })).toEqual(h);
      store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// In CI a missing slapd throws here (a failure, not a skip); elsewhere the reason names the skip.
const slapd = findSlapd();

describe.skipIf(!slapd.ok)(`watchers checked against an LDAP directory (real slapd)${slapd.ok ? '' : ` (skipped: ${slapd.reason})`}`, () => {
  let ldap: SlapdServer;
  let f: Fixture;
  const auth = (user: string) => `Basic ${Buffer.from(`${user}:${user}-secret`).toString('base64')}`;
  beforeAll(async () => {
    ldap = await startSlapd();
    const yaml = [
      'auth:',
      '  strategy: ldap',
      '  ldap:',
      `    url: ${ldap.url}`,
      `    bindDn: ${JSON.stringify(ldap.bindDn)}`,
      `    bindPassword: ${JSON.stringify(ldap.bindPassword)}`,
      `    userBase: ${JSON.stringify(ldap.userBase)}`,
      `    groupBase: ${JSON.stringify(ldap.groupBase)}`,
      '    pushmasterGroup: pushmasters',
      '    timeoutMs: 2000',
      '',
    ].join('\n');
    f = await startFixture({ config: parseConfig(yaml, 'board-ldap.test') });
  }, 60_000);
  afterAll(async () => {
    await f?.close();
    await ldap?.dispose();
  });

  it('push options and request edit alike: an LDAP user is a watcher, a name LDAP does not know is refused, naming it', async () => {
    const work = join(f.dir, 'ldap-clone');
    const remote = `${f.server.url.replace('://', '://alice:alice-secret@')}/main.git`;
    await git(f.dir, ['clone', '-q', remote, work]);
    await commitOnBranch(work, 'ldap-w', { 'w.txt': 'w\n' });
    const refused = await git(work, ['push', 'origin', 'ldap-w:refs/pushreq/ldap-w', '-o', 'watchers=bob,ghost']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/push option "watchers": no user "ghost"/);
    const pushed = await git(work, ['push', 'origin', 'ldap-w:refs/pushreq/ldap-w', '-o', 'watchers=bob']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const id = Number(/request (\d+) ".*" opened/.exec(pushed.stderr)![1]);

    const edit = (watchers: string[]) =>
      fetch(new URL('/api/commands', f.server.url), { method: 'POST', headers: { authorization: auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'EditRequest', request: id, watchers }) });
    const bad = await edit(['bob', 'ghost']);
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/no user "ghost"/);
    expect((await edit(['bob', 'pm'])).status).toBe(200);
    expect((await f.server.dispatcher.read()).board.requests[id]!.watchers).toEqual(['bob', 'pm']);
  });
});
