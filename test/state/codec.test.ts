// The persisted board across the Actor change (issue 14): boards written before it are read as they
// are, and what is written now stays schema 1, so an older server still reads it.
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, decodeBoard, encodeBoard, encodeEvents, pushPath, requestPath } from '../../state/codec.js';
import { decide, systemActor, userActor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import type { RequestId } from '../../state/model.js';

const sha = (c: string) => c.repeat(40);
const AT = '2025-01-07T12:00:00.000Z';

/** Files as the server wrote them before actors were a type: no `cause`, no `ownerInferredFrom`. */
const OLD_FILES = new Map([
  ['schema.json', '{\n "schemaVersion": 1,\n "nextRequestId": 2,\n "nextPushId": 2\n}\n'],
  [
    requestPath(1),
    JSON.stringify({ id: 1, user: 'alice', title: 'Fix login', description: '', ref: 'refs/pushreq/fix', sha: sha('a'), state: 'requested', push: null, tags: [], conflicts: [], review: null, ticket: null, watchers: [], comments: [], autoPickme: true, createdAt: AT, updatedAt: AT, pickedAt: null, acceptedAt: null, reason: 'no longer merges (a.txt)' }, null, 1) + '\n',
  ],
  [
    pushPath(1),
    JSON.stringify({ id: 1, title: 'Tue', type: 'regular', state: 'accepting', pushmaster: 'pm', deployBranch: 'refs/heads/deploy/push-1', deploySha: sha('d'), baseSha: sha('b'), merges: [], stageEnv: null, pingme: [], removals: [{ request: 1, by: 'pushmanager', reason: 'no longer merges (a.txt)', fromState: 'added', at: AT }], checklist: [], tag: null, createdAt: AT, updatedAt: AT, forced: [] }, null, 1) + '\n',
  ],
]);

describe('codec: boards from before the Actor union', () => {
  it('reads an old board unchanged, and writes it back byte for byte under the same schema version', () => {
    const board = decodeBoard(OLD_FILES);
    expect(board.requests[1]).toMatchObject({ user: 'alice', state: 'requested' });
    expect(board.requests[1]!.ownerInferredFrom).toBeUndefined();
    expect(board.pushes[1]!.removals[0]!.by).toBe('pushmanager');
    expect(SCHEMA_VERSION).toBe(1);
    expect(encodeBoard(board)).toEqual(OLD_FILES);
  });

  it("an old board's 'pushmanager' records grant a user of that name nothing; the system still acts on it", () => {
    const board = decodeBoard(OLD_FILES);
    const namesake = decide(board, { type: 'DiscardRequest', request: 1 as RequestId }, { actor: userActor('pushmanager'), now: AT });
    expect(isDomainError(namesake) && namesake.code).toBe('not-owner');
    const system = decide(board, { type: 'UpdateRequest', ref: 'refs/pushreq/fix', sha: sha('c'), forced: true }, { actor: systemActor('reconcile'), now: AT });
    expect(isDomainError(system) ? system.code : evolveAll(board, system).requests[1]!.sha).toBe(sha('c'));
  });

  it('new records only add optional fields: the cause on system events, the inferred owner on adopted requests', () => {
    const events = decide(decodeBoard(OLD_FILES), { type: 'OpenRequest', ref: 'refs/pushreq/found', sha: sha('e'), autoPickme: false, owner: { name: 'bob', inferredFrom: 'commit-author' } }, { actor: systemActor('reconcile'), now: AT });
    if (isDomainError(events)) throw new Error(events.message);
    const [written] = JSON.parse(encodeEvents(events)) as [Record<string, unknown> & { request: Record<string, unknown> }];
    expect(written).toMatchObject({ type: 'RequestOpened', actor: 'pushmanager', cause: 'reconcile', request: { user: 'bob', ownerInferredFrom: 'commit-author' } });
    const after = encodeBoard(evolveAll(decodeBoard(OLD_FILES), events));
    expect(after.get('schema.json')).toContain('"schemaVersion": 1');
    expect(after.get(requestPath(1))).toBe(OLD_FILES.get(requestPath(1)));
  });
});
