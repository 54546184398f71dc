// Routing table tests: each event against a fixed board, checked for who gets what on which channel.
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../state/events.js';
import type { Board, Push, PushId, PushRequest, RequestId } from '../../../state/model.js';
import { DEFAULT_ROUTES, NOTICE_KINDS, type Delivery, type RoutingConfig } from '../../../state/notify/delivery.js';
import { channelsFor, cleanText, routeCommit, routeEvent } from '../../../state/notify/routing.js';

const AT = '2024-05-01T10:00:00.000Z';
const rid = (n: number) => n as RequestId;
const pid = (n: number) => n as PushId;

function request(id: number, user: string, over: Partial<PushRequest> = {}): PushRequest {
  return {
    id: rid(id), user, title: `Change ${id}`, description: '', ref: `refs/pushreq/c${id}`, sha: `${id}`.repeat(40).slice(0, 40),
    state: 'requested', push: null, tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [],
    autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: null, ...over,
  };
}

function pushOf(id: number, over: Partial<Push> = {}): Push {
  return {
    id: pid(id), title: `Push ${id}`, type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: `refs/heads/deploy/push-${id}`,
    deploySha: null, baseSha: null, stageEnv: null, pingme: [], removals: [], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [], merges: [], ...over,
  };
}

const board: Board = {
  nextRequestId: 8,
  nextPushId: 3,
  requests: {
    1: request(1, 'alice', { watchers: ['bob'], title: 'Fix login' }),
    2: request(2, 'carol', { tags: ['urgent'] }),
    3: request(3, 'dave', { state: 'pickme', push: pid(1) }),
    4: request(4, 'alice', { state: 'staged', push: pid(1), watchers: ['frank'] }),
    5: request(5, 'bob', { state: 'staged', push: pid(1) }),
    6: request(6, 'gina', { state: 'delayed' }),
    7: request(7, 'hank', { state: 'pickme', push: pid(2) }),
  },
  pushes: {
    1: pushOf(1, { pingme: ['erin'], stageEnv: 'stage-a' }),
    2: pushOf(2, { type: 'morning', pushmaster: 'pm2' }),
  },
};

const cfg: RoutingConfig = {
  channels: ['irc', 'xmpp', 'email'],
  ircChannel: '#deploys',
  mailDomain: 'example.com',
  xmppDomain: 'xmpp.test',
  notifyAll: ['all@example.com'],
  aliases: { bob: { email: 'robert@corp.example', xmpp: 'bobby@xmpp.test', irc: 'bobby' } },
};

const ev = (e: Record<string, unknown>): DomainEvent => ({ at: AT, actor: 'pm', ...e }) as unknown as DomainEvent;
const summary = (ds: readonly Delivery[]) => ds.map((d) => `${d.channel} ${d.to.join(',')}`).sort();

interface Row {
  readonly name: string;
  readonly event: DomainEvent;
  readonly expect: readonly string[];
  readonly texts?: readonly string[];
}

const rows: Row[] = [
  {
    name: 'regular push opened: owners and watchers of waiting requests, notify-all email, IRC',
    event: ev({ type: 'PushOpened', push: board.pushes[1] }),
    expect: ['email all@example.com', 'irc #deploys', 'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test', 'xmpp carol@xmpp.test', 'xmpp dave@xmpp.test'],
    texts: ['push #1 "Push 1" (regular) is open, pushmaster pm', 'pushmanager request pickme ID'],
  },
  {
    name: 'urgent push opened: only owners of urgent requests',
    event: ev({ type: 'PushOpened', push: pushOf(9, { type: 'urgent' }) }),
    expect: ['email all@example.com', 'irc #deploys', 'xmpp carol@xmpp.test'],
  },
  {
    name: 'morning push opened: one channel line, no personal pings',
    event: ev({ type: 'PushOpened', push: board.pushes[2] }),
    expect: ['email all@example.com', 'irc #deploys'],
  },
  {
    name: 'accepted: owner and watchers, with the notify-all copy',
    event: ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }),
    expect: ['email alice@example.com', 'email all@example.com', 'email robert@corp.example', 'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test'],
    texts: ['Request #1 "Fix login" at 1111111111 was accepted into push #1 "Push 1" by pm.'],
  },
  {
    name: 'removed with reason',
    event: ev({ type: 'RequestRemoved', request: rid(1), push: pid(1), reason: 'breaks tests', fromState: 'added', toState: 'requested' }),
    expect: ['email alice@example.com', 'email all@example.com', 'email robert@corp.example', 'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test'],
    texts: ['removed from push #1 "Push 1" by pm: breaks tests'],
  },
  {
    name: 'conflict names the other request and the files',
    event: ev({ type: 'ConflictsFound', request: rid(4), sha: 'abc1234def', conflicts: [{ with: 'master', files: ['a.ts'] }, { with: rid(5), files: ['b.ts', 'c.ts'] }] }),
    expect: ['email alice@example.com', 'email all@example.com', 'email frank@example.com', 'xmpp alice@xmpp.test', 'xmpp frank@xmpp.test'],
    texts: ['conflicts with master (a.ts); request #5 "Change 5" by bob (b.ts, c.ts)'],
  },
  {
    name: 'no conflicts: nothing to say',
    event: ev({ type: 'ConflictsFound', request: rid(4), sha: 'abc', conflicts: [] }),
    expect: [],
  },
  {
    name: 'staged: each request asks to verify, with the command; ping-me list by XMPP',
    event: ev({ type: 'PushStaged', push: pid(1), env: 'stage-a', requests: [rid(4), rid(5)] }),
    expect: [
      'email alice@example.com', 'email all@example.com', 'email all@example.com', 'email frank@example.com', 'email robert@corp.example',
      'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test', 'xmpp erin@xmpp.test', 'xmpp frank@xmpp.test',
    ],
    texts: ['please verify at stage-a.\nThen run `pushmanager request verify 4`', 'push #1 "Push 1" was pushed to stage stage-a.'],
  },
  {
    name: 'all verified: the pushmaster, with the next command',
    event: ev({ type: 'AllVerified', push: pid(1) }),
    expect: ['xmpp pm@xmpp.test'],
    texts: ['Next: `pushmanager push bless 1`'],
  },
  {
    name: 'blessed: owners and watchers, ping-me list',
    event: ev({ type: 'PushBlessed', push: pid(1), forced: false, unverified: [] }),
    expect: ['email alice@example.com', 'email all@example.com', 'email all@example.com', 'email frank@example.com', 'email robert@corp.example', 'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test', 'xmpp erin@xmpp.test', 'xmpp frank@xmpp.test'],
  },
  {
    name: 'certified: owners and watchers by email',
    event: ev({ type: 'PushCertified', push: pid(1), tag: 'push-1', masterSha: 'f'.repeat(40), requests: [rid(4)], returned: [rid(3)] }),
    expect: ['email alice@example.com', 'email all@example.com', 'email frank@example.com'],
    texts: ['is live: push #1 "Push 1" was certified (tag push-1, master at ffffffffff).'],
  },
  {
    name: 'delayed by the pushmaster: owner by email',
    event: ev({ type: 'RequestDelayed', request: rid(6), reason: 'after the freeze' }),
    expect: ['email all@example.com', 'email gina@example.com'],
    texts: ['was delayed by pm: after the freeze\nUndelay: `pushmanager request undelay 6`'],
  },
  {
    name: 'discarded by its owner: watchers only',
    event: ev({ type: 'RequestDiscarded', request: rid(1), reason: 'obsolete', actor: 'alice' }),
    expect: ['email all@example.com', 'email robert@corp.example'],
  },
  {
    name: 'push discarded: owners of the returned requests',
    event: ev({ type: 'PushDiscarded', push: pid(1), reason: 'bad day', returned: [rid(3)] }),
    expect: ['email all@example.com', 'email dave@example.com'],
  },
  {
    name: 'comment: owner and watchers except the author',
    event: ev({ type: 'CommentAdded', request: rid(1), comment: { at: AT, user: 'pm', text: 'please rebase' }, actor: 'pm' }),
    expect: ['email alice@example.com', 'email all@example.com', 'email robert@corp.example', 'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test'],
    texts: ['pm commented on request #1 "Fix login": please rebase'],
  },
  {
    name: 're-push: watchers and the pushmaster of the push, not the pusher',
    event: ev({ type: 'RequestUpdated', request: rid(4), sha: '1234567890abcdef', previousSha: 'x', forced: true, actor: 'alice' }),
    expect: ['email all@example.com', 'email frank@example.com', 'email pm@example.com'],
    texts: ['was updated by alice to 1234567890 (forced).\nThe deploy branch of push #1 "Push 1" is rebuilt.'],
  },
  {
    name: 'a ref moved by the system (reconcile at start-up): the owner hears it too, as nobody of theirs did it',
    event: ev({ type: 'RequestUpdated', request: rid(4), sha: '1234567890abcdef', previousSha: 'x', forced: true, actor: 'pushmanager', cause: 'reconcile' }),
    expect: ['email alice@example.com', 'email all@example.com', 'email frank@example.com', 'email pm@example.com'],
    texts: ['was updated by pushmanager to 1234567890 (forced).'],
  },
  {
    name: 'pushmaster message: IRC lines to owners and watchers of requests in the chosen state',
    event: ev({ type: 'PushMessageSent', push: pid(1), text: 'verify now please', state: 'staged' }),
    expect: ['irc #deploys'],
    texts: ['[[pushmaster pm]] alice, frank, bobby: verify now please'],
  },
  {
    name: 'pushmaster message to the whole push: the pushees of accepted requests, not the pickme owners',
    event: ev({ type: 'PushMessageSent', push: pid(1), text: 'deploying at 3', state: null }),
    expect: ['irc #deploys'],
    texts: ['[[pushmaster pm]] alice, frank, bobby: deploying at 3'],
  },
  {
    name: 'pushmaster message to the pickmes: only their owners',
    event: ev({ type: 'PushMessageSent', push: pid(1), text: 'pick again', state: 'pickme' }),
    expect: ['irc #deploys'],
    texts: ['[[pushmaster pm]] dave: pick again'],
  },
  { name: 'picks and verifications stay quiet', event: ev({ type: 'RequestVerified', request: rid(4), push: pid(1) }), expect: [] },
];

describe('routeEvent: the original notification table', () => {
  it.each(rows)('$name', (row) => {
    const ds = routeEvent(row.event, board, cfg, 'c0ffee:0');
    expect(summary(ds)).toEqual([...row.expect].sort());
    const all = ds.map((d) => d.text).join('\n---\n');
    for (const t of row.texts ?? []) expect(all).toContain(t);
    // Keys are unique within an event and carry the prefix, channel and recipient.
    expect(new Set(ds.map((d) => d.key)).size).toBe(ds.length);
    for (const d of ds) {
      expect(d.key.startsWith('c0ffee:0:')).toBe(true);
      expect(d.key).toContain(`:${d.channel}:`);
    }
  });

  it("an owner named pushmanager is told of the system's changes and not of their own", () => {
    const b: Board = { ...board, requests: { ...board.requests, 8: request(8, 'pushmanager') } };
    const updated = (extra: Record<string, unknown>) => summary(routeEvent(ev({ type: 'RequestUpdated', request: rid(8), sha: 'f'.repeat(40), previousSha: 'x', forced: true, actor: 'pushmanager', ...extra }), b, cfg, 'c0ffee:0'));
    expect(updated({ cause: 'reconcile' })).toEqual(['email all@example.com', 'email pushmanager@example.com']);
    expect(updated({})).toEqual(['email all@example.com']);
  });

  it('sends IRC names with aliases, and the bob alias in the message lines', () => {
    const ds = routeEvent(ev({ type: 'PushMessageSent', push: pid(1), text: 'hi', state: null }), board, cfg, 'k');
    expect(ds[0]?.text).toBe('[[pushmaster pm]] alice, frank, bobby: hi'); // dave's request is only a pickme
    expect(ds[0]?.pushmaster).toBe('pm');
  });

  it('groups IRC names by five, each line prefixed with the pushmaster', () => {
    const many: Board = {
      ...board,
      requests: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [i + 1, request(i + 1, `u${i + 1}`, { state: 'staged', push: pid(1) })])),
    };
    const [d] = routeEvent(ev({ type: 'PushMessageSent', push: pid(1), text: 'go', state: null }), many, cfg, 'k');
    expect(d?.text.split('\n')).toEqual([
      '[[pushmaster pm]] u1, u2, u3, u4, u5: go',
      '[[pushmaster pm]] u6, u7, u8, u9, u10: go',
      '[[pushmaster pm]] u11, u12: go',
    ]);
    const opened = routeEvent(ev({ type: 'PushOpened', push: pushOf(1) }), { ...many, requests: Object.fromEntries(Object.entries(many.requests).map(([k, r]) => [k, { ...r, state: 'requested', push: null }])) }, cfg, 'k');
    const irc = opened.find((x) => x.channel === 'irc');
    expect(irc?.text.split('\n')).toHaveLength(4);
    expect(irc?.text.split('\n')[1]).toBe('u1, u2, u3, u4, u5: Pick your request: `pushmanager request pickme ID`');
  });

  it('goes to the log when no channel is configured, naming the users', () => {
    const ds = routeEvent(ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), board, { channels: [] }, 'k');
    expect(ds).toEqual([expect.objectContaining({ channel: 'log', to: ['alice', 'bob'], key: 'k:accepted:log:*' })]);
  });

  it('follows configured routes instead of the defaults', () => {
    const ds = routeEvent(ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), board, { ...cfg, notifyAll: [], routes: { accepted: ['irc'] } }, 'k');
    expect(summary(ds)).toEqual(['irc #deploys']);
    expect(ds[0]?.text).toBe('alice, bobby: Request #1 "Fix login" at 1111111111 was accepted into push #1 "Push 1" by pm.');
    expect(channelsFor('accepted', { channels: ['email', 'log'] })).toEqual(['email', 'log']);
    for (const k of NOTICE_KINDS) expect(DEFAULT_ROUTES[k].length).toBeGreaterThan(0);
  });

  it('notifyonly redirects every email and XMPP message, naming the original recipients', () => {
    const ds = routeEvent(ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), board, { ...cfg, notifyOnly: { email: ['qa@example.com'], xmpp: ['qa@xmpp.test'] } }, 'k');
    expect(summary(ds)).toEqual(['email qa@example.com', 'email qa@example.com', 'xmpp qa@xmpp.test']);
    const personal = ds.find((d) => d.key === 'k:accepted:email:qa@example.com');
    expect(personal?.text.split('\n')[0]).toBe('(notify-only; for: alice@example.com, robert@corp.example)');
    expect(ds.find((d) => d.key === 'k:accepted:email:all:qa@example.com')?.subject).toBe('[all] [pushmanager] Accepted: #1 "Fix login"');
    expect(ds.find((d) => d.channel === 'xmpp')?.text).toMatch(/^\(notify-only; for: alice@xmpp.test, bobby@xmpp.test\)\n/);
  });

  it('skips users without an address on a channel', () => {
    const ds = routeEvent(ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), board, { channels: ['email', 'xmpp'], aliases: { alice: { email: 'a@x.org' } } }, 'k');
    expect(summary(ds)).toEqual(['email a@x.org']);
  });

  it('gives emails a subject with the prefix and an escaped HTML part', () => {
    const evil: Board = { ...board, requests: { ...board.requests, 1: request(1, 'alice', { title: '<b>x</b> & "y"' }) } };
    const [d] = routeEvent(ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), evil, { channels: ['email'], mailDomain: 'example.com' }, 'k');
    expect(d?.subject).toBe('[pushmanager] Accepted: #1 "<b>x</b> & "y""');
    expect(d?.html).toContain('&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;');
    expect(d?.html).not.toContain('<b>');
  });

  it('strips control characters from user text', () => {
    const evil: Board = { ...board, requests: { ...board.requests, 1: request(1, 'alice', { title: 'a\x03' + '4red\r\nPRIVMSG #x :pwn\x1b[31m\u0085\u202eb' }) } };
    const ds = routeEvent(ev({ type: 'RequestRemoved', request: rid(1), push: pid(1), reason: 'x\ny\u0000z', fromState: 'added', toState: 'requested' }), evil, cfg, 'k');
    for (const d of ds) {
      // eslint-disable-next-line no-control-regex
      const bad = d.text.replace(/\n/g, '').match(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
      expect(bad).toBeNull();
      expect(d.text.split('\n').length).toBeLessThanOrEqual(2);
    }
    expect(cleanText('a\tb\u0007c')).toBe('a b c');
    expect(cleanText('x'.repeat(500), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('keys a commit by SHA and event index, stable across calls', () => {
    const events = [ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), ev({ type: 'RequestAccepted', request: rid(2), push: pid(1) })];
    const a = routeCommit('abc', events, board, cfg);
    const b = routeCommit('abc', events, board, cfg);
    expect(a).toEqual(b);
    expect(a.map((d) => d.key)).toContain('abc:0:accepted:email:alice@example.com');
    expect(a.map((d) => d.key)).toContain('abc:1:accepted:email:carol@example.com');
    expect(new Set(a.map((d) => d.key)).size).toBe(a.length);
  });

  it('ignores events about requests or pushes the board does not have', () => {
    expect(routeEvent(ev({ type: 'RequestAccepted', request: rid(99), push: pid(1) }), board, cfg, 'k')).toEqual([]);
    expect(routeEvent(ev({ type: 'AllVerified', push: pid(99) }), board, cfg, 'k')).toEqual([]);
  });
});

describe('routeEvent: pipeline jobs (issue 15)', () => {
  const job = (over: Record<string, unknown>) => ({ id: '1.2', name: 'test', on: 'build', sha: 'a'.repeat(40), push: 1, state: 'failed', attempt: 1, kind: 'build', runner: 'local', url: null, createdAt: AT, startedAt: AT, finishedAt: AT, ...over });
  const withJob = (over: Record<string, unknown> = {}): Board => ({ ...board, pushes: { ...board.pushes, 1: { ...board.pushes[1]!, deploySha: 'a'.repeat(40), jobs: [job(over)] } as Push } });
  const finished = (state: string) => ev({ type: 'JobFinished', push: pid(1), job: '1.2', name: 'test', sha: 'a'.repeat(40), state, reason: 'exit code 3', actor: 'pushmanager', cause: 'pipeline' });

  it('a failed build job tells the pushmaster and the owners of the push\'s requests which job, why, how to read its log and that stage waits', () => {
    const ds = routeEvent(finished('failed'), withJob(), cfg, 'k');
    // Requests 4 (alice) and 5 (bob) are in push 1; 3 is only a pickme and hears nothing; watchers are not owners.
    expect(summary(ds)).toEqual([
      'email alice@example.com', 'email all@example.com', 'email pm@example.com', 'email robert@corp.example',
      'xmpp alice@xmpp.test', 'xmpp bobby@xmpp.test', 'xmpp pm@xmpp.test',
    ]); // notifyAll gets every email
    expect(ds[0]!.text).toContain('build job test (job 1.2) failed on aaaaaaaaaa: exit code 3; stage of');
    expect(ds[0]!.text).toContain('Log: `pushmanager job log 1.2`; retry: `pushmanager job retry 1.2`');
    expect(ds[0]!.text).not.toContain('Last lines');
  });

  it('a failed job\'s notice quotes the last lines of its log, made safe and cut to the last ten', () => {
    const lines = Array.from({ length: 14 }, (_, i) => `line ${i + 1}`);
    lines[12] = '\u001b[31mFAIL\u001b[0m test/login.test.ts \u202eevil\u0007';
    const e = { ...(finished('failed') as unknown as Record<string, unknown>), tail: `${lines.join('\n')}\n` };
    const ds = routeEvent(ev(e), withJob(), cfg, 'k');
    const text = ds.find((d) => d.channel === 'xmpp' && d.to[0] === 'alice@xmpp.test')!.text;
    expect(text).toContain('Last lines of its log:\n  line 5\n');
    expect(text).not.toContain('line 4\n');
    expect(text).toContain('\n  FAIL test/login.test.ts evil\n  line 14\nLog: `pushmanager job log 1.2`');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it('a pass and a cancel stay quiet; a failed certify job (never a gate) tells the pushmaster alone', () => {
    expect(routeEvent(finished('passed'), withJob({ state: 'passed' }), cfg, 'k')).toEqual([]);
    expect(routeEvent(finished('cancelled'), withJob({ state: 'cancelled' }), cfg, 'k')).toEqual([]);
    const certify = routeEvent(finished('failed'), withJob({ on: 'certify' }), cfg, 'k');
    // The pushmaster's channels (and notifyAll's address, which gets every email); no owner of a request.
    expect(summary(certify)).toEqual(['email all@example.com', 'email pm@example.com', 'xmpp pm@xmpp.test']);
    expect(certify.every((d) => d.text.includes('certify job test (job 1.2) failed on aaaaaaaaaa: exit code 3;'))).toBe(true);
  });
});
