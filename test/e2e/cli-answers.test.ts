// What the CLI answers, verb by verb, run as a user would (the built binary against a real server and
// real git pushes): sentences with the ids, SHAs and states needed next, never event names; `--json`
// gives the same answer as data; a usage error prints the error and the verb's usage line, exit 2.
// Needs dist/ (npx tsc -p tsconfig.json).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config/config.js';
import { PushmanagerClient } from '../../tui/client.js';
import { main } from '../../tui/cli/main.js';
import { cli, git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

const EVENT_NAME = /\b(Push|Request|DeployBranch|Checklist|Comment|Pingme|AllVerified)[A-Z][a-z]+\b/;

let f: Fixture;
let alice: string;
let bob: string;

/** The SHA a ref of the managed repository points at, as any clone sees it. */
async function remoteSha(ref: string): Promise<string> {
  const out = await gitOk(alice, ['ls-remote', 'origin', ref]);
  return out.split(/\s+/)[0] ?? '';
}

async function pushRequest(work: string, name: string, title: string, opts: string[] = []): Promise<void> {
  await f.commit(work, name, { [`${name}.txt`]: `${name}\n` }, title);
  const r = await git(work, ['push', '-q', 'origin', `HEAD:refs/pushreq/${name}`, '-o', `title=${title}`, ...opts.flatMap((o) => ['-o', o])]);
  if (r.code !== 0) throw new Error(`git push ${name} failed: ${r.stderr}`);
}

/** Runs a verb, expects exit 0, and returns stdout after checking it names no internal event. */
async function say(user: string, ...args: string[]): Promise<string> {
  const r = await cli(f.server.url, user, args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  if (!args.includes('--json')) expect(r.stdout).not.toMatch(EVENT_NAME);
  return r.stdout;
}

const short = (sha: string) => sha.slice(0, 10);

beforeAll(async () => {
  // Two pushmasters, so `push takeover` has someone to take over from.
  const users = ['alice', 'bob', 'carol'].map((u) => `    - { name: ${u}, password: ${u} }\n`).join('');
  const config = parseConfig(`auth:\n  strategy: local\n  users:\n${users}    - { name: pm, password: pm, pushmaster: true }\n    - { name: pm2, password: pm2, pushmaster: true }\n`, 'cli-answers.test');
  f = await startFixture({ config });
  alice = await f.clone('alice');
  bob = await f.clone('bob');
  await pushRequest(alice, 'fix-login', 'Fix login', ['tags=pushplans']);
  await pushRequest(bob, 'faster-search', 'Faster search');
  await pushRequest(alice, 'footer', 'New footer');
}, 60_000);

afterAll(async () => {
  await f?.close();
});

describe('push verbs answer with ids and SHAs', () => {
  it('a whole push, open to certify, says what happened at each step', async () => {
    const opened = await say('pm', 'push', 'open', '--title', 'Tue 14:00');
    const deploy1 = await remoteSha('refs/heads/deploy/push-1');
    expect(deploy1).toMatch(/^[0-9a-f]{40}$/);
    expect(opened).toBe(`push 1 "Tue 14:00" opened (regular); 3 pickmes; deploy/push-1 at ${short(deploy1)}\n`);

    const accepted = await say('pm', 'push', 'accept', '1', '1');
    const afterAccept = await remoteSha('refs/heads/deploy/push-1');
    expect(afterAccept).not.toBe(deploy1);
    expect(accepted).toBe(`accepted 1 into push 1; deploy/push-1 at ${short(afterAccept)}\n`);

    // --json: the same answer as data: events, and the push and its requests as they are now.
    const json = JSON.parse(await say('pm', 'push', 'accept', '1', '2', '3', '--json')) as {
      events: string[];
      changes: { type: string; request?: number }[];
      pushes: { id: number; deploySha: string; state: string; requests: number[] }[];
      requests: { id: number; state: string; sha: string }[];
    };
    expect(json.events).toEqual(expect.arrayContaining(['RequestAccepted', 'DeployBranchBuilt']));
    expect(json.changes.filter((e) => e.type === 'RequestAccepted').map((e) => e.request)).toEqual([2, 3]);
    expect(json.pushes[0]).toMatchObject({ id: 1, state: 'accepting', deploySha: await remoteSha('refs/heads/deploy/push-1') });
    expect(json.requests.map((r) => [r.id, r.state])).toEqual([[1, 'added'], [2, 'added'], [3, 'added']]);
    expect(json.requests[1]!.sha).toBe(await gitOk(bob, ['rev-parse', 'HEAD']));

    const removed = await say('pm', 'push', 'remove', '1', '3', '--reason', 'not today');
    expect(removed).toBe(`removed 3 from push 1 (back to requested); deploy/push-1 at ${short(await remoteSha('refs/heads/deploy/push-1'))}\n`);

    expect(await say('pm', 'push', 'rebuild', '1')).toMatch(new RegExp(`^push 1 rebuilt: deploy/push-1 at ${short(await remoteSha('refs/heads/deploy/push-1'))}`));

    // The pushplans tag asks for a checklist item before staging.
    expect(await say('pm', 'push', 'tick', '1', 'pushplans:alice:stage')).toBe('ticked pushplans:alice:stage on push 1; open: pushplans:alice:prod, pushplans:alice:cleanup\n');
    expect(await say('pm', 'push', 'stage', '1', '--env', 'stage-a')).toBe(`staged push 1 on stage-a: deploy/push-1 at ${short(await remoteSha('refs/heads/deploy/push-1'))}; 2 requests to verify (1, 2)\n`);
    expect(await say('pm', 'push', 'message', '1', 'please', 'verify')).toBe('message sent to the pushees of push 1\n');
    expect(await say('carol', 'push', 'pingme', '1')).toBe('carol will be pinged when push 1 is staged and blessed\n');
    expect(await say('carol', 'push', 'pingme', '1', '--off')).toBe('carol is no longer pinged for push 1\n');

    expect(await say('alice', 'request', 'verify', '1')).toBe('verified 1 in push 1; still to verify: 2 (bob)\n');
    expect(await say('bob', 'push', 'verify', '1')).toBe('verified 2 in push 1; every request is verified: the pushmaster may bless (pushmanager push bless 1)\n');

    await say('pm', 'push', 'tick', '1', 'pushplans:alice:prod');
    const deploy = await remoteSha('refs/heads/deploy/push-1');
    expect(await say('pm', 'push', 'bless', '1')).toBe(`blessed push 1: deploy/push-1 at ${short(deploy)} goes to production; certify with: pushmanager push certify 1\n`);

    await say('pm', 'push', 'tick', '1', 'pushplans:alice:cleanup');
    const certified = await say('pm', 'push', 'certify', '1');
    const master = await remoteSha('refs/heads/master');
    const tag = /tag (push-\d{8}-1);/.exec(certified)?.[1];
    expect(certified).toBe(`certified push 1: master at ${short(master)}, tag ${tag}; 2 requests live\n`);
    expect(await remoteSha(`refs/tags/${tag}`)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('takeover and discard say who drives the push and what waits again', async () => {
    const opened = await say('pm', 'push', 'open', '--title', 'Wed 10:00', '--type', 'morning');
    expect(opened).toMatch(/^push 2 "Wed 10:00" opened \(morning\); 1 pickme; deploy\/push-2 at [0-9a-f]{10}\n$/);
    expect(await say('pm2', 'push', 'takeover', '2')).toMatch(/^push 2 is driven by pm2 now \(was pm\); deploy\/push-2 at [0-9a-f]{10}\n$/);
    expect(await say('pm2', 'push', 'discard', '2', '--reason', 'moved to Thursday')).toBe('discarded push 2; 1 request waits again (3)\n');
  });
});

describe('request verbs answer with the request and where it is', () => {
  it('delay, undelay, comment, edit, pickme, unpickme, discard', async () => {
    expect(await say('alice', 'request', 'delay', '3', '--reason', 'waiting on ops')).toBe('request 3 delayed; undelay with: pushmanager request undelay 3\n');
    expect(await say('alice', 'request', 'undelay', '3')).toBe('request 3 waits for a push again (requested)\n');
    expect(await say('bob', 'request', 'comment', '3', 'looks', 'good')).toBe('commented on request 3 (1 comment)\n');
    expect(await say('alice', 'request', 'edit', '3', '--title', 'New footer, v2', '--tags', 'ui')).toBe('request 3 edited: title, tags\n');
    await say('pm', 'push', 'open', '--title', 'Thu 09:00');
    expect(await say('alice', 'request', 'unpickme', '3')).toBe('request 3 is out of push 3, waiting (requested)\n');
    expect(await say('alice', 'request', 'pickme', '3')).toBe('request 3 "New footer, v2" is a pickme of push 3 "Thu 09:00" (pushmaster pm)\n');
    const json = JSON.parse(await say('alice', 'request', 'unpickme', '3', '--json')) as { requests: { id: number; state: string; push: number | null }[] };
    expect(json.requests.find((r) => r.id === 3)).toMatchObject({ state: 'requested', push: null });
    expect(await say('alice', 'request', 'discard', '3')).toBe('request 3 discarded\n');
  });
});

describe('usage errors print the error and the usage line', () => {
  it('the cases of issue 13, from the built binary: stderr says what is wrong and how to call the verb', async () => {
    for (const [args, usage] of [
      [['request', 'show', 'abc'], 'Usage: pushmanager request show [options] <id>'],
      [['push', 'accept', '1', '-5'], 'Usage: pushmanager push accept [options] <push> <requests...>'],
      [['push', 'stage', '0', '--env', 'x'], 'Usage: pushmanager push stage [options] <push>'],
    ] as const) {
      const r = await cli(f.server.url, 'pm', args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: command-argument value '[^']+' is invalid for argument '\w+'\. A (push|request) id is a positive number\.\n/);
      expect(r.stderr).toContain(`${usage}\nRun "pushmanager ${args[0]} ${args[1]} --help" for more.\n`);
    }
  });

  // Every verb with a bad id, in-process (the same main() the binary runs): no server is needed to refuse these.
  const bad: readonly (readonly string[])[] = [
    ['push', 'accept', 'x', '1'],
    ['push', 'accept', '1', '0'],
    ['push', 'remove', '1', 'x', '--reason', 'r'],
    ['push', 'rebuild', '-1'],
    ['push', 'stage', 'x', '--env', 'a'],
    ['push', 'verify', '0'],
    ['push', 'bless', 'x'],
    ['push', 'certify', 'x'],
    ['push', 'discard', 'x'],
    ['push', 'message', 'x', 'hi'],
    ['push', 'pingme', 'x'],
    ['push', 'takeover', 'x'],
    ['push', 'tick', 'x', 'item'],
    ['push', 'show', 'x'],
    ['request', 'show', 'x'],
    ['request', 'pickme', 'x'],
    ['request', 'pickme', '1', '--push', 'x'],
    ['request', 'unpickme', 'x'],
    ['request', 'verify', 'x'],
    ['request', 'delay', 'x'],
    ['request', 'undelay', 'x'],
    ['request', 'discard', 'x'],
    ['request', 'comment', 'x', 'hi'],
    ['request', 'edit', 'x', '--title', 't'],
    ['push', 'open'],
    ['push', 'remove', '1', '2'],
  ];
  it.each(bad.map((a) => [a.join(' '), a] as const))('%s', async (_name, args) => {
    let out = '';
    let err = '';
    const code = await main([...args], { out: (s) => void (out += s), err: (s) => void (err += s), env: { PUSHMANAGER_SERVER: 'http://127.0.0.1:9' } });
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^error: /);
    expect(err).toContain(`Usage: pushmanager ${args[0]} ${args[1]} [options]`);
  });
});

describe("the dashboard's client when the server is gone", () => {
  it('says it cannot reach the server, naming it, for the board and the event stream', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const url = `http://127.0.0.1:${port}`;
    const gone = new PushmanagerClient({ server: url, user: 'pm', password: 'pm' });
    await expect(gone.board()).rejects.toThrow(`cannot reach ${url} (ECONNREFUSED)`);
    // fetch itself only says "fetch failed".
    await expect(gone.events(() => undefined, new AbortController().signal)).rejects.toThrow(`cannot reach ${url} (ECONNREFUSED)`);
  });
});
