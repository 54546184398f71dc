// The dashboard rendered by Ink into a fake terminal (ink-testing-library): the main screens as frames
// (fixed clock, SHAs scrubbed), and key flows through a fake client with PushmanagerClient's methods.
import { showDashboard } from './show-dashboard.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerRefusal } from '../../tui/client.js';
import type { StatusView } from '../../state/status-view.js';
import { FakeClient, bigBoard, checklistBoard, sampleBoard, scrub, tick, waitFor } from './fixtures.js';

const ENTER = '\r';
const DOWN = '\u001b[B';

const mounted: (() => void)[] = [];
afterEach(() => {
  for (const u of mounted.splice(0)) u();
});

const show = (client: FakeClient, size = { width: 120, height: 30 }) => showDashboard(client, size, mounted);

describe('frames', () => {
  it('the pushmaster board, 120×30', async () => {
    const { until } = show(new FakeClient(sampleBoard()));
    expect(scrub(await until((f) => f.includes('● live') && f.includes('you: pm')))).toMatchSnapshot();
  });

  it('the pushmaster board, 80×24', async () => {
    const { until } = show(new FakeClient(sampleBoard()), { width: 80, height: 24 });
    expect(scrub(await until((f) => f.includes('● live') && f.includes('you: pm')))).toMatchSnapshot();
  });

  it('a pushee, with every key and why some are unavailable', async () => {
    const { until, type } = show(new FakeClient(sampleBoard(), { name: 'alice', pushmaster: false }));
    await until((f) => f.includes('you: alice'));
    await type('?');
    expect(scrub(await until((f) => f.includes('Keys (')))).toMatchSnapshot();
  });

  it('a pushee at 80×24: the keys wrap at words and scroll', async () => {
    const { until, type } = show(new FakeClient(sampleBoard(), { name: 'alice', pushmaster: false }), { width: 80, height: 24 });
    await until((f) => f.includes('you: alice'));
    await type('?');
    expect(scrub(await until((f) => f.includes('Keys (')))).toMatchSnapshot();
    await type('j', 'j', 'j');
    expect(await until((f) => f.includes('↑ 4 more lines'))).toContain('j/k/space scroll · esc/? close');
  });

  it('a request detail with description, conflicts, comments and history', async () => {
    const { until, type } = show(new FakeClient(sampleBoard()));
    await until((f) => f.includes('● live'));
    await type(DOWN, ENTER);
    expect(scrub(await until((f) => f.includes('History:')))).toMatchSnapshot();
  });

  it('200 requests: the cursor row stays on screen at the bottom of the list', async () => {
    const { until, type, frame } = show(new FakeClient(bigBoard(200)), { width: 100, height: 30 });
    await until((f) => f.includes('● live'));
    await type('G');
    // The last row in cursor order is the last delayed/waiting one: #200 waits (every fifth does).
    await until((f) => /^>.*#200\b/m.test(f));
    expect(frame().split('\n').length).toBeLessThanOrEqual(29);
    expect(frame()).toMatch(/↑ \d+ more lines/);
  });
});

describe('key flows', () => {
  it('selects two pickmes and accepts them in one command; the board follows the commit event', async () => {
    const client = new FakeClient(sampleBoard(), undefined, (cmd, c) => {
      if (cmd.type !== 'AcceptRequests') return ['Nothing'];
      c.view = { ...c.view, pushes: c.view.pushes.map((p) => (p.id === 3 ? { ...p, deploySha: 'abcdef0123456789abcdef0123456789abcdef01' } : p)), requests: c.view.requests.map((r) => (cmd.requests.includes(r.id) ? { ...r, state: 'added' as const } : r)) };
      setTimeout(() => c.send('commit', { kind: 'commit', version: 'v2', command: 'AcceptRequests', actor: 'pm', events: ['RequestAccepted'] }), 1);
      return cmd.requests.map((request) => ({ type: 'RequestAccepted', request, push: 3 }));
    });
    const { until, type } = show(client);
    await until((f) => f.includes('● live'));
    await type(' ', ' ');
    await until((f) => f.includes('2 selected'));
    await type('a');
    expect(client.sent).toEqual([{ type: 'AcceptRequests', push: 3, requests: [1, 2] }]);
    const f = await until((f) => f.includes('ADDED (3)'));
    // The sentence the CLI prints for the same answer: ids and the deploy branch's new SHA.
    expect(f).toContain('accepted 1, 2 into push 3; deploy/push-3 at abcdef0123');
    expect(f).not.toContain('RequestAccepted');
    expect(f).not.toContain('PICKME');
    expect(f).not.toContain('selected');
  });

  it('keys that arrive in one read (jjj, typing ahead) are each applied, in order; x then its reason typed ahead goes into the prompt', async () => {
    const client = new FakeClient(sampleBoard());
    const { until, type } = show(client);
    await until((f) => f.includes('● live') && /^> {2}#1\b/m.test(f));
    // One write is one read for Ink: it hands "jjj" to the dashboard as one input.
    await type('jjj');
    // Cursor order: PICKME #1 #2, ADDED #4, WAITING #5 …: three rows down from #1 is #5.
    await until((f) => /> {2}#5\b/.test(f));
    await type('k');
    await until((f) => /^> {2}#4\b/m.test(f));
    await type('xbroken');
    await until((f) => f.includes('Why remove #4: broken'));
  });

  it('shows a refusal with its message and code in the status line', async () => {
    const client = new FakeClient(sampleBoard(), undefined, () => new ServerRefusal(409, 'conflicts-with-master', 'request #1 conflicts with master in login.ts'));
    const { until, type } = show(client);
    await until((f) => f.includes('● live'));
    await type('a');
    const f = await until((f) => f.includes('refused'));
    expect(f).toContain('accept #1: refused: request #1 conflicts with master in login.ts [conflicts-with-master]');
  });

  it('removes with a typed reason', async () => {
    const client = new FakeClient(sampleBoard(), undefined, (cmd) => (cmd.type === 'RemoveRequest' ? [{ type: 'RequestRemoved', request: cmd.request, push: cmd.push, reason: cmd.reason, fromState: 'pickme', toState: 'requested' }] : ['Done']));
    const { until, type } = show(client);
    await until((f) => f.includes('● live'));
    await type('x');
    await until((f) => f.includes('Why remove #1:'));
    await type('b', 'r', 'o', 'k', 'e', 'n', ENTER);
    await until((f) => f.includes('removed 1 from push 3 (back to requested); deploy/push-3 not built yet'));
    expect(client.sent).toEqual([{ type: 'RemoveRequest', push: 3, request: 1, reason: 'broken' }]);
  });

  it('asks before certifying, showing what master will become', async () => {
    const b = sampleBoard();
    const client = new FakeClient({ ...b, pushes: [{ ...b.pushes[0]!, state: 'blessed', deploySha: 'abcdef0123456789abcdef0123456789abcdef01' }, b.pushes[1]!] }, undefined, () => [
      { type: 'PushCertified', push: 3, tag: 'push-20240501-3', masterSha: 'abcdef0123456789abcdef0123456789abcdef01', requests: [1, 2, 4], returned: [] },
    ]);
    const { until, type, frame } = show(client);
    await until((f) => f.includes('● live'));
    await type('c');
    expect(await until((f) => f.includes('Certify push #3?'))).toContain('becomes abcdef0123 (the deploy branch)');
    await type('n');
    await until((f) => f.includes('certify cancelled'));
    expect(client.sent).toEqual([]);
    await type('c', 'y');
    await until((f) => f.includes('certified push 3: master at abcdef0123, tag push-20240501-3; 3 requests live'));
    expect(client.sent).toEqual([{ type: 'CertifyPush', push: 3, force: false }]);
    expect(frame()).not.toContain('Certify push #3?');
  });

  it('a pushee picks their waiting request and is told why accept is not theirs', async () => {
    const client = new FakeClient(sampleBoard(), { name: 'alice', pushmaster: false }, (cmd) => (cmd.type === 'PickmeRequest' ? [{ type: 'RequestPicked', request: cmd.request, push: 3 }] : ['Done']));
    const { until, type } = show(client);
    await until((f) => f.includes('you: alice'));
    await type('a');
    await until((f) => f.includes('accept: alice is not the pushmaster of push 3'));
    await type('/', 'W', 'a', 'i', 't', ENTER);
    await until((f) => f.includes('filter "Wait": 1 of 6'));
    await type('p');
    await until((f) => f.includes('request 5 "Waiting for a push" is a pickme of push 3 "Wednesday train" (pushmaster pm)'));
    expect(client.sent).toEqual([{ type: 'PickmeRequest', request: 5 }]);
  });

  it('a refused accept clears the rebuild progress it reported (issue 13)', async () => {
    // The server reports merges as it goes; a conflict stops the build before the last report.
    const client = new FakeClient(sampleBoard(), undefined, (cmd, c) => {
      if (cmd.type !== 'AcceptRequests') return ['Done'];
      c.send('progress', { kind: 'progress', push: 3, task: 'rebuild', done: 2, total: 3 });
      return new ServerRefusal(409, 'merge-conflict', "request 2 (alice) does not merge onto push 3's deploy branch: conflicts in search.ts; nothing changed", { request: 2, push: 3 });
    });
    const { until, type, frame } = show(client);
    await until((f) => f.includes('● live'));
    await type(' ', ' ', 'a');
    await until((f) => f.includes('refused'));
    await tick(30);
    expect(frame()).toContain('accept #1 #2: refused: request 2 (alice) does not merge');
    expect(frame()).not.toContain('rebuilding');
  });

  it('a bless refused for unverified requests offers to force it, naming them; y forces (issue 13)', async () => {
    const b = sampleBoard();
    const board: StatusView = {
      ...b,
      pushes: [{ ...b.pushes[0]!, state: 'staged', deploySha: 'abcdef0123456789abcdef0123456789abcdef01', requests: [1, 4] as never }, b.pushes[1]!],
      requests: b.requests.map((r) => (r.id === 1 || r.id === 4 ? { ...r, state: 'staged' as const } : r.id === 2 ? { ...r, state: 'requested' as const, push: null } : r)),
    };
    const client = new FakeClient(board, undefined, (cmd) => {
      if (cmd.type !== 'BlessPush') return ['Done'];
      if (!cmd.force) return new ServerRefusal(409, 'unverified-requests', 'requests 1 (bob), 4 (carol) are not verified on stage; wait, remove them, or bless with --force', { push: 3, requests: [1, 4] });
      return [{ type: 'PushBlessed', push: 3, forced: true, unverified: [1, 4] }];
    });
    const { until, type, frame } = show(client, { width: 160, height: 30 });
    await until((f) => f.includes('● live'));
    await type('b');
    const asked = await until((f) => f.includes('Bless push #3 anyway'));
    expect(asked).toContain('Bless push #3 anyway (forced, logged)? y/n\n  not verified on stage: #1 (bob), #4 (carol)\n');
    // The dashboard has no flags: it does not tell the pushmaster to pass one.
    expect(asked).not.toContain('--force');
    await type('y');
    await until((f) => f.includes('blessed push 3'));
    expect(client.sent).toEqual([
      { type: 'BlessPush', push: 3, force: false },
      { type: 'BlessPush', push: 3, force: true },
    ]);
    expect(frame()).toContain('blessed push 3: deploy/push-3 at abcdef0123 goes to production (forced; unverified: 1, 4); certify with: pushmanager push certify 3');
  });

  it('n keeps a refused bless refused', async () => {
    const b = sampleBoard();
    // Request 4 staged with its push (as after `push stage`): the board offers bless, which asks to force while it is unverified.
    const client = new FakeClient({ ...b, pushes: [{ ...b.pushes[0]!, state: 'staged' }, b.pushes[1]!], requests: b.requests.map((r) => (r.id === 4 ? { ...r, state: 'staged' as const } : r)) }, undefined, () => new ServerRefusal(409, 'unverified-requests', 'requests 4 (carol) are not verified on stage; wait, remove them, or bless with --force', { push: 3, requests: [4] }));
    const { until, type } = show(client);
    await until((f) => f.includes('● live'));
    await type('b');
    await until((f) => f.includes('not verified on stage: #4 (carol)'));
    await type('n');
    await until((f) => f.includes('bless cancelled'));
    expect(client.sent).toEqual([{ type: 'BlessPush', push: 3, force: false }]);
  });

  it('q quits', async () => {
    let quit = false;
    const { r } = showDashboard(new FakeClient(sampleBoard()), { width: 100, height: 24 }, mounted, { onQuit: () => (quit = true) });
    await waitFor(() => r.lastFrame(), (f) => f.includes('● live'));
    r.stdin.write('q');
    await tick(20);
    expect(quit).toBe(true);
  });
});

describe('live', () => {
  it("a pushee is told on the status line when the pushmaster moves their request: accepted, staged (v verifies), removed with the reason", async () => {
    const client = new FakeClient(sampleBoard(), { name: 'alice', pushmaster: false });
    const { until, frame } = show(client, { width: 80, height: 24 });
    await until((f) => f.includes('you: alice'));
    await tick(50);
    const move = (over: Partial<StatusView['requests'][number]>, pushOver: Partial<StatusView['pushes'][number]> = {}) => {
      client.view = { ...client.view, pushes: client.view.pushes.map((p) => (p.id === 3 ? { ...p, ...pushOver } : p)), requests: client.view.requests.map((r) => (r.id === 2 ? { ...r, ...over } : r)) };
      client.send('commit', { kind: 'commit', version: `v${Math.random()}`, command: 'X', actor: 'pm', events: [] });
    };
    move({ state: 'added' });
    await until((f) => f.includes('#2 "Faster search" accepted into push 3 by pm'));
    move({ state: 'staged' }, { state: 'staged', stageEnv: 'stage-a' });
    await until((f) => f.includes('#2 "Faster search" staged on stage-a: try it there, then v verifies it'));
    move({ state: 'requested', push: null, reason: 'breaks search on stage-a' });
    await until((f) => f.replace(/\s+/g, ' ').includes('#2 "Faster search" removed from push 3 by pm: breaks search on stage-a'));
    // Bob's request moving is not alice's news.
    client.view = { ...client.view, requests: client.view.requests.map((r) => (r.id === 1 ? { ...r, state: 'added' } : r)) };
    client.send('commit', { kind: 'commit', version: 'v-bob', command: 'X', actor: 'pm', events: [] });
    await tick(80);
    expect(frame().replace(/\s+/g, ' ')).toContain('removed from push 3 by pm: breaks search on stage-a');
  });

  it('the pushmaster is not told of the steps they take themselves', async () => {
    // pm watches #2, so only "pm runs push 3" keeps the news from the status line.
    const board = sampleBoard();
    const client = new FakeClient({ ...board, requests: board.requests.map((r) => (r.id === 2 ? { ...r, watchers: ['pm'] } : r)) });
    const { until, frame } = show(client);
    await until((f) => f.includes('● live'));
    await tick(50);
    const before = client.boardFetches;
    client.view = { ...client.view, requests: client.view.requests.map((r) => (r.id === 2 ? { ...r, state: 'added' } : r)) };
    client.send('commit', { kind: 'commit', version: 'v1', command: 'X', actor: 'pm', events: [] });
    // The new board was fetched and drawn (#2 is now among the push's requests) before anything is asserted.
    for (let i = 0; i < 100 && client.boardFetches === before; i++) await tick(10);
    await tick(50);
    expect(client.boardFetches).toBeGreaterThan(before);
    expect(frame()).not.toContain('accepted into push 3');
  });

  it('coalesces a burst of commit events into one or two fetches', async () => {
    const client = new FakeClient(sampleBoard());
    const { until } = show(client);
    await until((f) => f.includes('● live'));
    await tick(50); // let the settle fetch pass
    const before = client.boardFetches;
    for (let i = 0; i < 20; i++) client.send('commit', { kind: 'commit', version: `v${i}`, command: 'X', actor: 'a', events: [] });
    await tick(60);
    expect(client.boardFetches - before).toBe(1);
  });

  it('shows rebuild progress and notices as they come', async () => {
    const client = new FakeClient(sampleBoard());
    const { until } = show(client);
    await until((f) => f.includes('● live'));
    client.send('progress', { kind: 'progress', push: 3, task: 'rebuild', done: 1, total: 3 });
    await until((f) => f.includes('rebuilding 1/3'));
    client.send('progress', { kind: 'progress', push: 3, task: 'rebuild', done: 3, total: 3 });
    await until((f) => !f.includes('rebuilding'));
    client.send('notice', { kind: 'notice', text: 'master moved upstream' });
    await until((f) => f.includes('master moved upstream'));
  });

  it('keeps the last board marked stale while the server is away, then reconnects by itself', async () => {
    const client = new FakeClient(sampleBoard());
    const { until } = show(client);
    await until((f) => f.includes('● live'));
    client.goDown();
    const stale = await until((f) => f.includes('STALE'));
    expect(stale).toContain('Fix login redirect');
    const streams = client.streams;
    client.view = { ...client.view, requests: client.view.requests.map((r) => (r.id === 5 ? { ...r, title: 'Renamed while away' } : r)) };
    client.up();
    const back = await until((f) => f.includes('● live') && f.includes('Renamed while away'));
    expect(back).not.toContain('STALE');
    expect(client.streams).toBe(streams + 1);
  });
});

describe('checklist', () => {
  it('the pushmaster opens the checklist with t, ticks the open item, and sees who ticked it', async () => {
    const client = new FakeClient(checklistBoard() as StatusView, undefined, (cmd, c) => {
      if (cmd.type !== 'TickChecklist') return ['Nothing'];
      const [p, ...rest] = c.view.pushes;
      const checklist = p!.checklist.map((i) => (i.id === cmd.item ? { ...i, done: cmd.done ?? false, doneBy: cmd.done ? 'pm' : null } : i));
      c.view = { ...c.view, pushes: [{ ...p!, checklist }, ...rest] };
      setTimeout(() => c.send('commit', { kind: 'commit', version: 'v2', command: 'TickChecklist', actor: 'pm', events: ['ChecklistTicked'] }), 1);
      return [{ type: 'ChecklistTicked', push: 3, item: cmd.item, done: cmd.done }];
    });
    const { until, type } = show(client);
    const board = await until((f) => f.includes('● live') && f.includes('CHECKLIST'));
    expect(board).toContain('CHECKLIST (2 open of 3)  t ticks');
    expect(board).toMatch(/#1 .*✔2 build:fail\(builder-a\)/);
    expect(board).toContain('build:pass');
    await type('t');
    expect(scrub(await until((f) => f.includes('Checklist of push #3')))).toMatchSnapshot();
    await type(ENTER);
    const f = await until((f) => f.includes('CHECKLIST (1 open of 3)'));
    expect(client.sent).toEqual([{ type: 'TickChecklist', push: 3, item: 'db-migration-run', done: true }]);
    expect(f).toMatch(/> \[x\] db-migration-run .*✓ pm/);
    expect(f).toContain('ticked db-migration-run on push 3; open: announce');
    await type('\u001b');
    await until((f) => f.includes('CHECKLIST (1 open of 3)  t ticks'));
  });

  it('a pushee sees the checklist but is told why t is not theirs', async () => {
    const client = new FakeClient(checklistBoard() as StatusView, { name: 'alice', pushmaster: false });
    const { until, type } = show(client);
    await until((f) => f.includes('you: alice') && f.includes('CHECKLIST'));
    await type('t');
    await until((f) => f.includes('tick: alice is not the pushmaster of push 3'));
    expect(client.sent).toEqual([]);
  });
});
