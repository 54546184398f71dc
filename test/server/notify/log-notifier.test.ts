// LogNotifier: the default channel appends one JSON line per delivery.
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogNotifier } from '../../../server/notify/log-notifier.js';
import { Outbox } from '../../../server/notify/outbox.js';
import type { DomainEvent } from '../../../state/events.js';
import { emptyBoard, type PushId, type RequestId } from '../../../state/model.js';
import { routeCommit } from '../../../state/notify/routing.js';
import { removeTempDirs, tempDir } from '../../helpers/temp-dir.js';

afterAll(removeTempDirs);

describe('LogNotifier', () => {
  it('appends one JSON line per delivery, by default for every notice', async () => {
    const dir = await tempDir();
    const file = join(dir, 'logs', 'notifications.log');
    const log = new LogNotifier({ file, now: () => new Date('2024-05-01T10:00:00Z') });
    await log.start();
    const outbox = await Outbox.open({ dir, notifiers: [log] });
    const board = { ...emptyBoard(), pushes: { 1: { id: 1 as PushId, title: 'P', type: 'morning' as const, state: 'accepting' as const, pushmaster: 'pm', deployBranch: 'd', deploySha: null, baseSha: null, stageEnv: null, pingme: [], removals: [], checklist: [], tag: null, createdAt: '', updatedAt: '', forced: [], merges: [] } } };
    const events: DomainEvent[] = [
      { type: 'PushOpened', push: board.pushes[1], at: '2024-05-01T10:00:00Z', actor: 'pm' },
      { type: 'AllVerified', push: 1 as PushId, at: '2024-05-01T10:00:00Z', actor: 'pm' },
      { type: 'RequestVerified', push: 1 as PushId, request: 3 as RequestId, at: '2024-05-01T10:00:00Z', actor: 'pm' },
    ];
    await outbox.enqueue(routeCommit('c9', events, board, { channels: [] }));
    await outbox.idle();
    await outbox.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { at: '2024-05-01T10:00:00.000Z', key: 'c9:0:push-opened:log:*', channel: 'log', to: [], subject: 'Push open: push #1 "P" (morning)', text: 'push #1 "P" (morning) is open, pushmaster pm.' },
      expect.objectContaining({ key: 'c9:1:all-verified:log:*', to: ['pm'] }),
    ]);
  });

  it('keeps the file open between lines, and writes to a new file once the old one was rotated or removed', async () => {
    const dir = await tempDir();
    const file = join(dir, 'notifications.log');
    const log = new LogNotifier({ file });
    const d = (key: string) => ({ key, channel: 'log' as const, to: [], subject: key, text: key });
    await log.send(d('one'));
    await rename(file, `${file}.1`); // logrotate
    await log.send(d('two'));
    const keys = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
    expect(await keys(`${file}.1`)).toEqual(['one']);
    expect(await keys(file)).toEqual(['two']);
    await rm(file);
    await log.send(d('three'));
    await log.send(d('four'));
    await log.close();
    expect(await keys(file)).toEqual(['three', 'four']);
  });
});
