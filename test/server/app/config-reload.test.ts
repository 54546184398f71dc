// Config changes while running: a valid edit applies users at once; an invalid one is refused with the
// start-up message and the running config stays (issue 6).
import { afterAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../../server/main.js';
import { PushmanagerClient, ServerRefusal } from '../../../tui/client.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';
import { until } from '../../helpers/until.js';

let server: RunningServer | undefined;
afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

const users = (extra: string) => `auth:
  strategy: local
  users:
    - { name: alice, password: alice }
    - { name: pm, password: pm, pushmaster: true }
${extra}`;

const whoami = (url: string, user: string) => new PushmanagerClient({ server: url, user, password: user }).whoami();

describe('config reload', () => {
  it('applies a new user, refuses a broken edit and keeps running on the last good config', async () => {
    const dir = await tempDir();
    const file = join(dir, 'pushmanager.config.yaml');
    await writeFile(file, users(''));
    server = await startServer({ configPath: file, port: 0, dataDir: join(dir, 'data'), log: () => undefined });
    await expect(whoami(server.url, 'dave')).rejects.toBeInstanceOf(ServerRefusal);

    await writeFile(file, users('    - { name: dave, password: dave }\n'));
    const applied = await server.reloader!.reload();
    expect(applied).toMatchObject({ ok: true, applied: ['auth'] });
    expect((await whoami(server.url, 'dave')).user.name).toBe('dave');

    await writeFile(file, users('    - { name: dave, password: dave, colour: blue }\n'));
    const refused = await server.reloader!.reload();
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toMatch(/pushmanager\.config\.yaml: invalid configuration[\s\S]*auth\.users\[2\][\s\S]*colour/);
    expect((await whoami(server.url, 'dave')).user.name).toBe('dave');

    await writeFile(file, users('') + 'server:\n  port: 9999\n');
    const partial = await server.reloader!.reload();
    expect(partial).toMatchObject({ ok: true, restart: ['server'] });
    await expect(whoami(server.url, 'dave')).rejects.toBeInstanceOf(ServerRefusal);

    // The train's jobs are read at start only: an edit says it needs a restart rather than "applied nothing".
    await writeFile(file, users('') + 'server:\n  port: 9999\npipeline:\n  jobs:\n    - { name: test, on: build, run: [npm, test] }\n');
    expect(await server.reloader!.reload()).toMatchObject({ ok: true, restart: ['server', 'pipeline'] });
  });

  it('notices the edit by itself (the file is watched)', async () => {
    const s = server!;
    const seen: string[] = [];
    const off = s.bus.subscribe((m) => m.kind === 'notice' && seen.push(m.text));
    const cfgFile = s.config.source;
    await writeFile(cfgFile, users('    - { name: erin, password: erin }\n'));
    // A deadline for a watcher that never fires, not a speed to meet: the file watch and the reload are slow on a loaded machine.
    await until('the config reload notice', () => seen.some((t) => t.startsWith('config reloaded')), 20_000).finally(off);
    expect((await whoami(s.url, 'erin')).user.name).toBe('erin');
  });
});
