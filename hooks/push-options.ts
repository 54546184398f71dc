// Parses `git push -o key=value` options into typed request fields. Every refusal names the option, and
// every bad option of a push is reported at once, so one more push fixes them all.
import { CONFLICT_TAGS } from '../state/model.js';

export interface ParsedPushOptions {
  title?: string;
  description?: string;
  tags?: string[];
  watchers?: string[];
  review?: string | null;
  ticket?: string | null;
  pickme?: boolean;
}

/**
 * A refusal names the first bad option (`option`) and lists every problem (`problems`, joined in
 * `message`). `value` holds what did parse, either way: the caller checks the watchers it names too.
 */
export type PushOptionsResult =
  | { ok: true; value: ParsedPushOptions }
  | { ok: false; option: string; message: string; problems: string[]; value: ParsedPushOptions };

export const PUSH_OPTION_KEYS = ['title', 'description', 'tags', 'watchers', 'review', 'ticket', 'pickme'] as const;

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- as above, every occurrence
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;
const TAG = /^[A-Za-z0-9_-]{1,40}$/;
const MAX_TAGS = 30;
const MAX_WATCHERS = 50;
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/;
const REVIEW = /^[0-9]{1,10}$/;
const TICKET = /^([A-Z][A-Z0-9_]{0,19}-[0-9]{1,9}|#?[0-9]{1,9})$/;

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export function parsePushOptions(raw: readonly string[]): PushOptionsResult {
  const out: ParsedPushOptions = {};
  const bad: { option: string; message: string }[] = [];
  const seen = new Map<string, number>();
  for (const opt of raw) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const problem = parseOne(out, key, eq < 0 ? null : opt.slice(eq + 1), seen);
    if (problem) bad.push(problem);
  }
  const first = bad[0];
  if (!first) return { ok: true, value: out };
  const problems = bad.map((b) => `push option "${b.option}": ${b.message}`);
  return { ok: false, option: first.option, message: problems.join('; '), problems, value: out };
}

/** Parses one option into `out`; returns its problem, if any. `seen`: how often each option was given so far. */
function parseOne(out: ParsedPushOptions, key: string, value: string | null, seen: Map<string, number>): { option: string; message: string } | null {
  const fail = (message: string) => ({ option: key, message });
  if (!(PUSH_OPTION_KEYS as readonly string[]).includes(key)) return { option: [...key.replace(CONTROL_ALL, '?')].slice(0, 40).join(''), message: `unknown option; known: ${PUSH_OPTION_KEYS.join(', ')}` };
  // A second value would silently win (or merge): say so instead. Reported once per option.
  const times = (seen.get(key) ?? 0) + 1;
  seen.set(key, times);
  if (times === 2) return fail(`given more than once; give it once${key === 'tags' || key === 'watchers' ? `, several values comma-separated: -o ${key}=a,b` : ''}`);
  if (times > 2) return null;
  if (value === null) return fail(`needs a value: -o ${key}=...`);
  if (CONTROL.test(value)) return fail('contains control characters');
  switch (key) {
    case 'title':
      if (!value.trim()) return fail('is empty');
      if (value.length > 200) return fail(`is ${value.length} characters; at most 200`);
      out.title = value.trim();
      break;
    case 'description':
      if (value.length > 4000) return fail('is longer than 4000 characters');
      out.description = value;
      break;
    case 'tags': {
      const tags = list(value);
      // As many as the API takes (server/http/api-schema.ts).
      if (tags.length > MAX_TAGS) return fail(`has ${tags.length} tags; at most ${MAX_TAGS}`);
      const badTag = tags.find((t) => !TAG.test(t));
      if (badTag !== undefined) return fail(`"${badTag}" is not a tag (letters, digits, "_" and "-", at most 40)`);
      const reserved = tags.find((t) => (CONFLICT_TAGS as readonly string[]).includes(t));
      if (reserved) return fail(`"${reserved}" is set only by the server`);
      out.tags = [...new Set(tags)];
      break;
    }
    case 'watchers': {
      const users = list(value);
      // As many as the API takes; each is looked up in the directory (LDAP: one query each).
      if (users.length > MAX_WATCHERS) return fail(`has ${users.length} users; at most ${MAX_WATCHERS}`);
      const badUser = users.find((u) => !USER.test(u));
      if (badUser !== undefined) return fail(`"${badUser}" is not a user name`);
      out.watchers = [...new Set(users)];
      break;
    }
    case 'review':
      if (value === '' || value === 'none') out.review = null;
      else if (!REVIEW.test(value)) return fail(`"${value}" is not a review number`);
      else out.review = value;
      break;
    case 'ticket':
      if (value === '' || value === 'none') out.ticket = null;
      else if (!TICKET.test(value)) return fail(`"${value}" is not a ticket key (e.g. WEB-42 or 1234)`);
      else out.ticket = value;
      break;
    case 'pickme':
      if (/^(yes|true|1|on)$/i.test(value)) out.pickme = true;
      else if (/^(no|false|0|off)$/i.test(value)) out.pickme = false;
      else return fail(`"${value}" is not yes or no`);
      break;
  }
  return null;
}
