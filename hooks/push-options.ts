// Parses `git push -o key=value` options into typed request fields. Every refusal names the option.
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

export type PushOptionsResult = { ok: true; value: ParsedPushOptions } | { ok: false; option: string; message: string };

export const PUSH_OPTION_KEYS = ['title', 'description', 'tags', 'watchers', 'review', 'ticket', 'pickme'] as const;

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- as above, every occurrence
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;
const TAG = /^[A-Za-z0-9_-]{1,40}$/;
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/;
const REVIEW = /^[0-9]{1,10}$/;
const TICKET = /^([A-Z][A-Z0-9_]{0,19}-[0-9]{1,9}|#?[0-9]{1,9})$/;

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

export function parsePushOptions(raw: readonly string[]): PushOptionsResult {
  const out: ParsedPushOptions = {};
  const fail = (option: string, message: string): PushOptionsResult => ({ ok: false, option, message: `push option "${option}": ${message}` });
  for (const opt of raw) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    const shown = [...key.replace(CONTROL_ALL, '?')].slice(0, 40).join('');
    if (!(PUSH_OPTION_KEYS as readonly string[]).includes(key)) return fail(shown, `unknown option; known: ${PUSH_OPTION_KEYS.join(', ')}`);
    if (eq < 0) return fail(key, `needs a value: -o ${key}=...`);
    if (CONTROL.test(value)) return fail(key, 'contains control characters');
    switch (key) {
      case 'title':
        if (!value.trim()) return fail(key, 'is empty');
        if (value.length > 200) return fail(key, `is ${value.length} characters; at most 200`);
        out.title = value.trim();
        break;
      case 'description':
        if (value.length > 4000) return fail(key, 'is longer than 4000 characters');
        out.description = value;
        break;
      case 'tags': {
        const tags = list(value);
        const bad = tags.find((t) => !TAG.test(t));
        if (bad !== undefined) return fail(key, `"${bad}" is not a tag (letters, digits, "_" and "-", at most 40)`);
        const reserved = tags.find((t) => (CONFLICT_TAGS as readonly string[]).includes(t));
        if (reserved) return fail(key, `"${reserved}" is set only by the server`);
        out.tags = [...new Set([...(out.tags ?? []), ...tags])];
        break;
      }
      case 'watchers': {
        const users = list(value);
        const bad = users.find((u) => !USER.test(u));
        if (bad !== undefined) return fail(key, `"${bad}" is not a user name`);
        out.watchers = [...new Set([...(out.watchers ?? []), ...users])];
        break;
      }
      case 'review':
        if (value === '' || value === 'none') out.review = null;
        else if (!REVIEW.test(value)) return fail(key, `"${value}" is not a review number`);
        else out.review = value;
        break;
      case 'ticket':
        if (value === '' || value === 'none') out.ticket = null;
        else if (!TICKET.test(value)) return fail(key, `"${value}" is not a ticket key (e.g. WEB-42 or 1234)`);
        else out.ticket = value;
        break;
      case 'pickme':
        if (/^(yes|true|1|on)$/i.test(value)) out.pickme = true;
        else if (/^(no|false|0|off)$/i.test(value)) out.pickme = false;
        else return fail(key, `"${value}" is not yes or no`);
        break;
    }
  }
  return { ok: true, value: out };
}
