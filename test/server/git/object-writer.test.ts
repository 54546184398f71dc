// The one commit serialiser: an identity it would have to alter is refused, naming the field (it used to be
// stripped of <, > and newlines, which made a different person), and an ISO date keeps its zone, as git does.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectWriter } from '../../../server/git/object-writer.js';
import { initRepo, type FixtureRepo } from '../../helpers/git-fixtures.js';

let repo: FixtureRepo;
beforeEach(async () => {
  repo = await initRepo();
});
afterEach(() => repo.cleanup());

describe('ObjectWriter.commit', () => {
  it('refuses a name or email with <, > or a newline instead of stripping it', async () => {
    const w = new ObjectWriter(repo.dir);
    const tree = await w.tree([]);
    const date = '2026-01-01T00:00:00.000Z';
    await expect(w.commit({ tree, parents: [], author: { name: 'Eve <eve@evil.test>', email: 'pm@example.test', date }, message: 'x\n' })).rejects.toMatchObject({ code: 'bad-identity', data: { field: 'name' } });
    await expect(w.commit({ tree, parents: [], author: { name: 'Eve', email: 'eve\n@example.test', date }, message: 'x\n' })).rejects.toMatchObject({ code: 'bad-identity', data: { field: 'email' } });
  });

  it('writes the zone an ISO date names, as git would', async () => {
    const w = new ObjectWriter(repo.dir);
    const sha = await w.commit({ tree: await w.tree([]), parents: [], author: { name: 'Ada', email: 'ada@example.test', date: '2026-01-01T10:00:00+02:00' }, message: 'x\n' });
    const gitSays = await repo.git.out(['var', 'GIT_COMMITTER_IDENT'], { env: { GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.test', GIT_COMMITTER_DATE: '2026-01-01T10:00:00+02:00' } });
    expect(await repo.git.out(['cat-file', 'commit', sha])).toContain(`author ${gitSays}\n`);
  });
});
