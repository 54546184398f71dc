// The oldest on-disk form the codec reads (schema 1; no migration exists yet), written as files into a real
// temp repo's metadata branch the way an earlier server left it, and read through the git state store as
// today's board; a command then commits on top of it. When schema 2 comes, this fixture stays as it is and
// the expected board becomes the migrated one: that is the migration test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userActor, type Actor } from '../../../state/decide.js';
import { isDomainError } from '../../../state/errors.js';
import type { Board, Push, PushRequest } from '../../../state/model.js';
import { Dispatcher } from '../../../server/app/dispatcher.js';
import { GitStateStore } from '../../../server/store/git-state-store.js';
import { commitFiles, initRepo, readBlob, type FixtureRepo } from '../../helpers/git-fixtures.js';

const META = 'refs/heads/pushmanager/meta';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const M = 'c'.repeat(40);

/** Literal text, as a schema-1 server wrote it (indent 1, trailing newline) and as an operator might have re-saved it (compact). */
const V1_FILES: Record<string, string> = {
  'schema.json': '{\n "schemaVersion": 1,\n "nextRequestId": 3,\n "nextPushId": 2\n}\n',
  'requests/0000/1.json': `{
 "id": 1,
 "user": "alice",
 "title": "Fix login",
 "description": "the login form forgot the user",
 "ref": "refs/pushreq/fix-login",
 "sha": "${A}",
 "state": "added",
 "push": 1,
 "tags": ["urgent", "no-conflicts"],
 "conflicts": [],
 "review": "1234",
 "ticket": "OPS-7",
 "watchers": ["bob"],
 "comments": [{ "at": "2025-06-01T10:00:00.000Z", "user": "bob", "text": "looks good" }],
 "autoPickme": true,
 "createdAt": "2025-06-01T09:00:00.000Z",
 "updatedAt": "2025-06-01T11:00:00.000Z",
 "pickedAt": "2025-06-01T10:30:00.000Z",
 "acceptedAt": "2025-06-01T11:00:00.000Z",
 "reason": null
}
`,
  'requests/0000/2.json': `{"id":2,"user":"bob","title":"Speed up search","description":"","ref":"refs/pushreq/search","sha":"${B}","state":"requested","push":null,"tags":[],"conflicts":[{"with":1,"files":["search.py"]}],"review":null,"ticket":null,"watchers":[],"comments":[],"autoPickme":false,"createdAt":"2025-06-01T09:30:00.000Z","updatedAt":"2025-06-01T09:30:00.000Z","pickedAt":null,"acceptedAt":null,"reason":null}\n`,
  'pushes/0000/1.json': `{"id":1,"title":"Monday push","type":"regular","state":"accepting","pushmaster":"pm","deployBranch":"refs/heads/deploy/push-1","deploySha":"${M}","baseSha":"${'d'.repeat(40)}","merges":[{"request":1,"sha":"${A}","commit":"${M}"}],"stageEnv":null,"pingme":["alice"],"removals":[],"checklist":[],"tag":null,"createdAt":"2025-06-01T08:00:00.000Z","updatedAt":"2025-06-01T11:00:00.000Z","forced":[]}\n`,
  'events.json': '[]\n',
};

const alice = {
  id: 1, user: 'alice', title: 'Fix login', description: 'the login form forgot the user', ref: 'refs/pushreq/fix-login', sha: A,
  state: 'added', push: 1, tags: ['urgent', 'no-conflicts'], conflicts: [], review: '1234', ticket: 'OPS-7', watchers: ['bob'],
  comments: [{ at: '2025-06-01T10:00:00.000Z', user: 'bob', text: 'looks good' }], autoPickme: true,
  createdAt: '2025-06-01T09:00:00.000Z', updatedAt: '2025-06-01T11:00:00.000Z', pickedAt: '2025-06-01T10:30:00.000Z', acceptedAt: '2025-06-01T11:00:00.000Z', reason: null,
} as unknown as PushRequest;
const bob = {
  id: 2, user: 'bob', title: 'Speed up search', description: '', ref: 'refs/pushreq/search', sha: B, state: 'requested', push: null, tags: [],
  conflicts: [{ with: 1, files: ['search.py'] }], review: null, ticket: null, watchers: [], comments: [], autoPickme: false,
  createdAt: '2025-06-01T09:30:00.000Z', updatedAt: '2025-06-01T09:30:00.000Z', pickedAt: null, acceptedAt: null, reason: null,
} as unknown as PushRequest;
const monday = {
  id: 1, title: 'Monday push', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: M,
  baseSha: 'd'.repeat(40), merges: [{ request: 1, sha: A, commit: M }], stageEnv: null, pingme: ['alice'], removals: [], checklist: [], tag: null,
  createdAt: '2025-06-01T08:00:00.000Z', updatedAt: '2025-06-01T11:00:00.000Z', forced: [],
} as unknown as Push;
const EXPECTED: Board = { nextRequestId: 3, nextPushId: 2, requests: { 1: alice, 2: bob }, pushes: { 1: monday } };

let repo: FixtureRepo;
let store: GitStateStore;
beforeEach(async () => {
  repo = await initRepo();
  store = new GitStateStore(repo.git, repo.dir, META);
});
afterEach(async () => {
  store.close();
  await repo.cleanup();
});

describe('schema 1 on disk, read through the git state store', () => {
  it('reads as the current board, field for field', async () => {
    const version = await commitFiles(repo.git, { files: V1_FILES, message: 'written by a schema-1 server', ref: META });
    const snap = await store.read();
    expect(snap.version).toBe(version);
    expect(snap.board).toEqual(EXPECTED);
  });

  it('takes a command on top and keeps every other file as it was', async () => {
    const base = await commitFiles(repo.git, { files: V1_FILES, ref: META });
    const d = new Dispatcher(store, { now: () => new Date('2026-01-01T00:00:00Z') });
    const bobActor: Actor = userActor('bob', { pushmaster: false });
    const out = await d.dispatch({ type: 'CommentRequest', request: 2 as PushRequest['id'], text: 'rebased' }, bobActor);
    expect(isDomainError(out)).toBe(false);
    expect(await repo.git.out(['rev-parse', `${META}^`])).toBe(base);
    expect(await repo.git.out(['diff-tree', '-r', '--name-only', base, META])).toBe('events.json\nrequests/0000/2.json');
    const fresh = new GitStateStore(repo.git, repo.dir, META);
    try {
      const { board } = await fresh.read();
      expect(board.requests[1]).toEqual(alice);
      expect(board.pushes[1]).toEqual(monday);
      expect(board.requests[2]?.comments).toEqual([{ at: '2026-01-01T00:00:00.000Z', user: 'bob', text: 'rebased' }]);
    } finally {
      fresh.close();
    }
    expect(await readBlob(repo.git, META, 'schema.json')).toBe(V1_FILES['schema.json']);
  });

  it.each([
    ['a newer schema', '{"schemaVersion": 2, "nextRequestId": 1, "nextPushId": 1}', /schema version 2, newer than this pushmanager understands \(1\); upgrade pushmanager/],
    ['no schema version', '{"nextRequestId": 1, "nextPushId": 1}', /unreadable schema version \(undefined\); expected 1\.\.1/],
    ['schema 0', '{"schemaVersion": 0}', /unreadable schema version \(0\)/],
  ])('refuses %s with unsupported-schema, naming what it found', async (_name, schema, message) => {
    await commitFiles(repo.git, { files: { ...V1_FILES, 'schema.json': schema }, ref: META });
    await expect(store.read()).rejects.toMatchObject({ code: 'unsupported-schema', message: expect.stringMatching(message) });
  });
});
