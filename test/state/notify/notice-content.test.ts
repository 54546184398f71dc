// What a pushee or the pushmaster reads, line by line, found by walking a whole push on real IRC, XMPP and
// SMTP servers: each notice names the SHA it is about and the full command to run next; a personal
// message names the reader's own request ids; quoted log lines are the job's output, not the runner's
// JSON header; text cut to fit never splits a character (an emoji, a non-ASCII name) in two.
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../../state/events.js';
import type { Board, Push, PushId, PushRequest, RequestId } from '../../../state/model.js';
import type { RoutingConfig } from '../../../state/notify/delivery.js';
import { cleanText, routeEvent } from '../../../state/notify/routing.js';

const AT = '2024-05-01T10:00:00.000Z';
const rid = (n: number) => n as RequestId;
const pid = (n: number) => n as PushId;
const SHA1 = '1a2b3c4d5e'.repeat(4);
const DEPLOY = 'dddd0000ee'.repeat(4);

function request(id: number, user: string, over: Partial<PushRequest> = {}): PushRequest {
  return {
    id: rid(id), user, title: `Change ${id}`, description: '', ref: `refs/pushreq/c${id}`, sha: SHA1,
    state: 'requested', push: null, tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [],
    autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: null, ...over,
  };
}
const push1: Push = {
  id: pid(1), title: 'Tue', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: DEPLOY,
  baseSha: null, stageEnv: null, pingme: [], removals: [], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [], merges: [],
};
const board: Board = {
  nextRequestId: 5,
  nextPushId: 2,
  requests: {
    1: request(1, 'alice', { state: 'added', push: pid(1), watchers: ['bob'] }),
    2: request(2, 'carol', { state: 'requested' }),
    3: request(3, 'carol', { state: 'requested', watchers: ['bob'] }),
    4: request(4, 'dave', { state: 'staged', push: pid(1) }),
  },
  pushes: { 1: push1 },
};
const cfg: RoutingConfig = { channels: ['xmpp', 'email', 'irc'], ircChannel: '#deploys', xmppDomain: 'x.test', mailDomain: 'example.com' };
const ev = (e: Record<string, unknown>): DomainEvent => ({ at: AT, actor: 'pm', ...e }) as unknown as DomainEvent;
const textTo = (ds: ReturnType<typeof routeEvent>, to: string) => ds.find((d) => d.to.includes(to))?.text ?? '';
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('notices say which SHA and what to run next', () => {
  it('accepted names the SHA that went into the deploy branch', () => {
    const ds = routeEvent(ev({ type: 'RequestAccepted', request: rid(1), push: pid(1) }), board, cfg, 'k');
    expect(textTo(ds, 'alice@x.test')).toBe('Request #1 "Change 1" at 1a2b3c4d5e was accepted into push #1 "Tue" by pm.');
  });

  it('removed says the request is back to requested and how to offer it again', () => {
    const b: Board = { ...board, requests: { ...board.requests, 1: request(1, 'alice', { state: 'requested', watchers: ['bob'] }) } };
    const ds = routeEvent(ev({ type: 'RequestRemoved', request: rid(1), push: pid(1), reason: 'conflicts with #4', fromState: 'added', toState: 'requested' }), b, cfg, 'k');
    const t = textTo(ds, 'alice@x.test');
    expect(t).toContain('Request #1 "Change 1" at 1a2b3c4d5e was removed from push #1 "Tue" by pm: conflicts with #4');
    expect(t).toContain('It is back to requested; to offer it again: `pushmanager request pickme 1`');
  });

  it('a conflict names the ref to push the fix to', () => {
    const ds = routeEvent(ev({ type: 'ConflictsFound', request: rid(1), sha: SHA1, conflicts: [{ with: 'master', files: ['a.ts'] }] }), board, cfg, 'k');
    expect(textTo(ds, 'alice@x.test')).toContain('Rebase or merge, then push again to refs/pushreq/c1.');
  });

  it('staged, blessed and certified name the SHA being deployed', () => {
    const staged = routeEvent(ev({ type: 'PushStaged', push: pid(1), env: 'stage-a', requests: [rid(4)] }), board, cfg, 'k');
    expect(textTo(staged, 'dave@x.test')).toContain('is on stage in push #1 "Tue" (dddd0000ee)');
    const blessed = routeEvent(ev({ type: 'PushBlessed', push: pid(1), forced: false, unverified: [] }), board, cfg, 'k');
    expect(textTo(blessed, 'dave@x.test')).toContain('push #1 "Tue" (dddd0000ee) with request #4');
    const certified = routeEvent(ev({ type: 'PushCertified', push: pid(1), tag: 'push-1', masterSha: 'f'.repeat(40), requests: [rid(4)], returned: [] }), board, cfg, 'k');
    expect(textTo(certified, 'dave@example.com')).toContain('(tag push-1, master at ffffffffff)');
  });

  it('a push opened tells each pushee, by XMPP, the pickme command of their own requests', () => {
    const b: Board = { ...board, requests: { 2: board.requests[2]!, 3: board.requests[3]! }, pushes: {} };
    const ds = routeEvent(ev({ type: 'PushOpened', push: { ...push1, deploySha: null } }), b, cfg, 'k');
    expect(textTo(ds, 'carol@x.test')).toContain('Pick your requests: `pushmanager request pickme 2`, `pushmanager request pickme 3`');
    expect(textTo(ds, 'bob@x.test')).toContain('Pick your request: `pushmanager request pickme 3`');
    // A request picked into the push as it opened (auto-pickme) is not to be picked again.
    const picked: Board = { ...b, requests: { ...b.requests, 2: { ...b.requests[2]!, state: 'pickme', push: pid(1) } } };
    const again = routeEvent(ev({ type: 'PushOpened', push: { ...push1, deploySha: null } }), picked, cfg, 'k');
    expect(textTo(again, 'carol@x.test')).toBe('push #1 "Tue" (regular) is open, pushmaster pm.\nPick your request: `pushmanager request pickme 3`\nAlready a pickme of it: #2.');
    // The channel line still speaks to everyone at once.
    expect(ds.find((d) => d.channel === 'irc')?.text).toContain('carol, bob: Pick your request: `pushmanager request pickme ID`');
  });
});

describe('quoted logs and cut text', () => {
  it("a failed job's quoted log leaves out the runner's own header line (the command as JSON)", () => {
    const job = { id: '1.2', name: 'test', on: 'build', sha: DEPLOY, push: 1, state: 'failed', attempt: 1, kind: 'build', runner: 'local', url: null, createdAt: AT, startedAt: AT, finishedAt: AT };
    const b: Board = { ...board, pushes: { 1: { ...push1, jobs: [job] } as unknown as Push } };
    const tail = `[pushmanager] job 1.2 (test) at ${DEPLOY}: ["sh","/srv/build.sh"]\nchecking\nBREAKS present: failing`;
    const ds = routeEvent(ev({ type: 'JobFinished', push: pid(1), job: '1.2', name: 'test', sha: DEPLOY, state: 'failed', reason: 'exit code 3', tail, actor: 'pushmanager', cause: 'pipeline' }), b, cfg, 'k');
    const t = textTo(ds, 'pm@x.test');
    expect(t).toContain('Last lines of its log:\n  checking\n  BREAKS present: failing');
    expect(t).not.toContain('["sh"');
  });

  it('cutting a long title never splits an emoji', () => {
    expect(cleanText('😀'.repeat(20), 10)).toMatch(/^(😀){9}…$/);
    expect(loneSurrogate.test(cleanText(`a${'😀'.repeat(200)}`))).toBe(false);
  });
});
