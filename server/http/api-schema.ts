// API bodies parsed at the edge: the commands a client may send, as zod schemas that name the bad field.
// Control characters are C0, DEL and C1 (U+0080–U+009F: U+009B is an 8-bit CSI that terminals obey),
// the same set the push options refuse.
import { z } from 'zod';
import type { Command } from '../../state/commands.js';
import { IN_PUSH_STATE_NAMES, PUSH_TYPES } from '../../state/model.js';
import type { ApiCommandInput } from '../../state/wire.js';

const id = z.number().int().positive().max(1e9);
const jobId = z.string().regex(/^[0-9]{1,9}\.[0-9]{1,9}$/, 'a job id like 3.1');
// eslint-disable-next-line no-control-regex
const line = (max: number) => z.string().max(max).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must be one line without control characters');
// eslint-disable-next-line no-control-regex
const text = (max: number) => z.string().max(max).regex(/^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$/, 'must not contain control characters');
// A CI run's page, shown with the job by the API, the CLI and the dashboard. Control characters are
// refused before the URL is parsed: the URL parser would drop tabs and line ends silently and keep an
// escape sequence raw, which the API then serves to every client.
// eslint-disable-next-line no-control-regex
const pageUrl = z.string().max(2000).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not contain control characters').pipe(z.url({ protocol: /^https?$/ }));
const tag = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'tags are letters, digits, "_" and "-"');
const user = z.string().regex(/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/, 'not a user name');
const fields = {
  title: line(200).min(1).optional(),
  description: text(4000).optional(),
  tags: z.array(tag).max(30).optional(),
  watchers: z.array(user).max(50).optional(),
  review: z.string().regex(/^[0-9]{1,10}$/, 'a review number').nullable().optional(),
  ticket: z.string().regex(/^([A-Z][A-Z0-9_]{0,19}-[0-9]{1,9}|#?[0-9]{1,9})$/, 'a ticket key like WEB-42').nullable().optional(),
};

export const apiCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('PickmeRequest'), request: id, push: id.optional() }),
  z.strictObject({ type: z.literal('UnpickmeRequest'), request: id }),
  z.strictObject({ type: z.literal('VerifyRequest'), request: id }),
  z.strictObject({ type: z.literal('VerifyPush'), push: id }),
  z.strictObject({ type: z.literal('DelayRequest'), request: id, reason: line(500).optional() }),
  z.strictObject({ type: z.literal('UndelayRequest'), request: id }),
  z.strictObject({ type: z.literal('DiscardRequest'), request: id, reason: line(500).optional() }),
  z.strictObject({ type: z.literal('CommentRequest'), request: id, text: text(4000).min(1) }),
  z.strictObject({ type: z.literal('EditRequest'), request: id, ...fields }),
  z.strictObject({ type: z.literal('OpenPush'), title: line(200).min(1), pushType: z.enum(PUSH_TYPES).default('regular') }),
  z.strictObject({ type: z.literal('AcceptRequests'), push: id, requests: z.array(id).min(1).max(500) }),
  z.strictObject({ type: z.literal('RemoveRequest'), push: id, request: id, reason: line(500).min(1) }),
  z.strictObject({ type: z.literal('RebuildPush'), push: id }),
  z.strictObject({ type: z.literal('StagePush'), push: id, env: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an environment name like stage-a'), force: z.boolean().optional(), reason: line(500).optional() }),
  z.strictObject({ type: z.literal('BlessPush'), push: id, force: z.boolean().default(false), reason: line(500).optional() }),
  z.strictObject({ type: z.literal('CertifyPush'), push: id, force: z.boolean().default(false) }),
  z.strictObject({ type: z.literal('DiscardPush'), push: id, reason: line(500).optional() }),
  z.strictObject({ type: z.literal('MessagePushees'), push: id, text: line(1000).min(1), state: z.enum(IN_PUSH_STATE_NAMES).optional() }),
  z.strictObject({ type: z.literal('PingmePush'), push: id, on: z.boolean().default(true) }),
  z.strictObject({ type: z.literal('TakeOverPush'), push: id }),
  z.strictObject({ type: z.literal('RetryJob'), job: jobId }),
  z.strictObject({ type: z.literal('CancelJob'), job: jobId, reason: line(500).optional() }),
  z.strictObject({ type: z.literal('ReportJob'), job: jobId, state: z.enum(['passed', 'failed']), url: pageUrl.optional() }),
  z.strictObject({ type: z.literal('TickChecklist'), push: id, item: line(200).min(1), done: z.boolean().default(true) }),
]);

export type ApiCommand = z.infer<typeof apiCommandSchema>;

export type ParsedBody<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

export function parseApiCommand(body: unknown): ParsedBody<Command> {
  const r = apiCommandSchema.safeParse(body);
  if (r.success) return { ok: true, value: r.data as Command };
  const issue = r.error.issues[0]!;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => JSON.stringify(k)).join(', ') : '';
  const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || (issue.code === 'unrecognized_keys' ? `unknown key ${keys}` : 'body');
  const extra = issue.code === 'unrecognized_keys' && issue.path.length ? ` (${keys})` : '';
  return { ok: false, field, message: `${field}: ${sizeWords(issue, body) ?? choiceWords(issue, body) ?? issue.message}${extra}` };
}

/** An unknown command type or a body that is not an object, said as such (zod: "Invalid discriminator value"). */
function choiceWords(issue: z.core.$ZodIssue, body: unknown): string | null {
  if (issue.code === 'invalid_union' && issue.path.length === 1 && issue.path[0] === 'type') {
    const got = body !== null && typeof body === 'object' ? (body as { type?: unknown }).type : undefined;
    const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
    return `${got === undefined ? 'missing' : `unknown command ${JSON.stringify(got)}`}; one of ${options.join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.path.length === 0) return `expected a JSON object (a command with its "type"), got ${Array.isArray(body) ? 'a list' : body === null ? 'null' : typeof body}`;
  return null;
}

/**
 * A length or size limit in words a user reads (the CLI prints this after "refused:"), with how long
 * the value was; zod's own ("Too big: expected string to have <=4000 characters") names its types.
 */
function sizeWords(issue: z.core.$ZodIssue, body: unknown): string | null {
  if (issue.code !== 'too_small' && issue.code !== 'too_big') return null;
  const value = issue.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), body);
  const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  if (issue.origin === 'string') {
    if (issue.code === 'too_small' && limit === 1) return 'must not be empty';
    const got = typeof value === 'string' ? ` (it has ${value.length})` : '';
    return `${issue.code === 'too_small' ? 'at least' : 'at most'} ${limit} characters${got}`;
  }
  if (issue.origin === 'array' || issue.origin === 'set') return `${issue.code === 'too_small' ? 'at least' : 'at most'} ${limit} ${limit === 1 ? 'item' : 'items'}${Array.isArray(value) ? ` (it has ${value.length})` : ''}`;
  if (issue.origin === 'number' || issue.origin === 'int') return `${issue.code === 'too_small' ? 'at least' : 'at most'} ${limit}`;
  return null;
}
/** The wire type of a command body (state/wire.ts, shared with the clients); the schema must take exactly it. */
export type { ApiCommandInput };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaTakesTheWireType: Same<z.input<typeof apiCommandSchema>, ApiCommandInput> = true;
void schemaTakesTheWireType;
