// What a new user meets first, following README.md: a push of a commit over git's 1 MiB post buffer,
// the CLI's answers to incomplete credentials and a bad --server, against the real server and real git.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitOk, startFixture, type Fixture } from '../helpers/server-fixture.js';

let f: Fixture;
let alice: string;

beforeAll(async () => {
  f = await startFixture();
  alice = await f.clone('alice');
});
afterAll(async () => f?.close());

describe('a push larger than git’s post buffer', () => {
  it('opens the request: git first probes with an empty request, which is answered, not a 500', async () => {
    await gitOk(alice, ['checkout', '-q', '-B', 'big', 'origin/master']);
    // Incompressible, so the pack is over http.postBuffer (1 MiB) and git sends its probe, then a chunked body.
    await writeFile(join(alice, 'big.bin'), randomBytes(2 * 1024 * 1024));
    await gitOk(alice, ['add', 'big.bin']);
    await gitOk(alice, ['commit', '-q', '-m', 'Add a big fixture']);
    const r = await git(alice, ['push', 'origin', 'big:refs/pushreq/big', '-o', 'title=Big fixture']);
    expect(r.stderr).not.toMatch(/HTTP 500/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/remote: Pushmanager: request \d+ "Big fixture" opened for alice/);
  });
});
