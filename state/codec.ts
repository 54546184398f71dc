// The persisted format of the board on the metadata branch, with its schema version and migrations.
// Layout of the metadata tree (one commit per accepted command):
//   schema.json                     {schemaVersion, nextRequestId, nextPushId}
//   requests/<shard>/<id>.json      one request; shard = id / 100, so a change rewrites small trees
//   pushes/<shard>/<id>.json        one push
//   events.json                     the events this commit recorded (for the outbox and readers)
import type { DomainEvent } from './events.js';
import type { Board, Push, PushRequest } from './model.js';
import { PushmanagerError } from './pushmanager-error.js';

export const SCHEMA_VERSION = 1;

export class SchemaError extends PushmanagerError {
  readonly code = 'unsupported-schema' as const;
  declare readonly data: { readonly found: unknown; readonly supported: number };
  constructor(
    readonly found: unknown,
    readonly supported: number,
  ) {
    super(
      typeof found === 'number' && found > supported
        ? `the metadata branch uses schema version ${found}, newer than this pushmanager understands (${supported}); upgrade pushmanager before reading it`
        : `the metadata branch has an unreadable schema version (${JSON.stringify(found)}); expected 1..${supported}`,
      { found, supported },
    );
  }
}

export interface SchemaFile {
  readonly schemaVersion: number;
  readonly nextRequestId: number;
  readonly nextPushId: number;
}

const shard = (id: number) => String(Math.floor(id / 100)).padStart(4, '0');
export const requestPath = (id: number) => `requests/${shard(id)}/${id}.json`;
export const pushPath = (id: number) => `pushes/${shard(id)}/${id}.json`;
export const SCHEMA_PATH = 'schema.json';
export const EVENTS_PATH = 'events.json';

const json = (x: unknown) => JSON.stringify(x, null, 1) + '\n';
export const encodeRequest = (r: PushRequest) => json(r);
export const encodePush = (p: Push) => json(p);
export const encodeSchema = (b: Board) => json({ schemaVersion: SCHEMA_VERSION, nextRequestId: b.nextRequestId, nextPushId: b.nextPushId } satisfies SchemaFile);
export const encodeEvents = (events: readonly DomainEvent[]) => json(events);

/** Migrations from version N to N+1, applied in order to each file. Version 1 is the first. */
const MIGRATIONS: Record<number, { request: (r: unknown) => unknown; push: (p: unknown) => unknown }> = {};

export function decodeSchema(text: string): SchemaFile {
  const s = JSON.parse(text) as Partial<SchemaFile>;
  const v = s.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > SCHEMA_VERSION) throw new SchemaError(v, SCHEMA_VERSION);
  return { schemaVersion: v, nextRequestId: Number(s.nextRequestId ?? 1), nextPushId: Number(s.nextPushId ?? 1) };
}

function migrate<T>(kind: 'request' | 'push', value: unknown, from: number): T {
  let v = value;
  for (let n = from; n < SCHEMA_VERSION; n++) v = MIGRATIONS[n]![kind](v);
  return v as T;
}

export const decodeRequest = (text: string, version: number): PushRequest => migrate('request', JSON.parse(text), version);
export const decodePush = (text: string, version: number): Push => migrate('push', JSON.parse(text), version);

/** Every file of a board, for a first write or an in-memory comparison. */
export function encodeBoard(b: Board): Map<string, string> {
  const files = new Map<string, string>([[SCHEMA_PATH, encodeSchema(b)]]);
  for (const r of Object.values(b.requests)) files.set(requestPath(r.id), encodeRequest(r));
  for (const p of Object.values(b.pushes)) files.set(pushPath(p.id), encodePush(p));
  return files;
}

export function decodeBoard(files: ReadonlyMap<string, string>): Board {
  return applyFiles({ nextRequestId: 1, nextPushId: 1, requests: {}, pushes: {} }, files);
}

/**
 * A board with some files read anew on top of `base` (all of them for a full read, the changed ones
 * after another writer moved the tip). `schema.json` must be among them: a newer schema is refused.
 */
export function applyFiles(base: Board, files: ReadonlyMap<string, string>): Board {
  const schemaText = files.get(SCHEMA_PATH);
  if (schemaText === undefined) throw new SchemaError(undefined, SCHEMA_VERSION);
  const schema = decodeSchema(schemaText);
  const requests: Record<number, PushRequest> = { ...base.requests };
  const pushes: Record<number, Push> = { ...base.pushes };
  for (const [path, text] of files) {
    if (path.startsWith('requests/')) {
      const r = decodeRequest(text, schema.schemaVersion);
      requests[r.id] = r;
    } else if (path.startsWith('pushes/')) {
      const p = decodePush(text, schema.schemaVersion);
      pushes[p.id] = p;
    }
  }
  return { nextRequestId: schema.nextRequestId, nextPushId: schema.nextPushId, requests, pushes };
}
