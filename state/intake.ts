// What a `git push` to refs/pushreq/<name> asks for, decided on the board the single writer holds:
// open a request, update the one the ref already names, or withdraw it (the ref deleted). The one
// "active request for this ref" lookup lives here; decide, the push path and the train all ask it.
import type { Command, RequestFields } from './commands.js';
import { isActiveRequest, requestsOf, type Board, type PushRequest } from './model.js';

const ZERO = /^0{40}$/;

/** The request a ref names now: the one active request with that ref, if any. */
export const activeRequestFor = (board: Board, ref: string): PushRequest | undefined => requestsOf(board).find((r) => r.ref === ref && isActiveRequest(r));

/** One pushed ref, as the hook reported it, with the push options that apply to it. */
export interface PushedRef {
  readonly ref: string;
  readonly newSha: string;
  /** The ref's value before the push, as git saw it (40 zeros: it did not exist). */
  readonly oldSha: string;
  readonly fields: RequestFields;
  /** -o pickme=no: not offered to the accepting push by itself. */
  readonly autoPickme: boolean;
}

/** Whether `descendant` descends from `ancestor`, as looked up in git before the writer (a fact). */
export type Ancestry = ReadonlyMap<string, boolean>;
export const ancestryKey = (ancestor: string, descendant: string): string => `${ancestor}..${descendant}`;

export type PushResolution =
  | { readonly kind: 'command'; readonly command: Command; readonly existing: PushRequest | undefined }
  /** Refused before deciding, with the reason as the pusher reads it. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** Needs git's answer about ancestry first (the ref's old value was not the request's SHA). */
  | { readonly kind: 'needs-ancestry'; readonly ancestor: string; readonly descendant: string };

/**
 * The command a pushed ref means on `board`. A re-push that does not descend from the request's SHA
 * is a forced update; that answer comes from git, looked up before the writer for the ref's old value.
 */
export function resolvePushedRef(board: Board, p: PushedRef, ancestry: Ancestry): PushResolution {
  const existing = activeRequestFor(board, p.ref);
  const defined = Object.fromEntries(Object.entries(p.fields).filter(([, v]) => v !== undefined)) as RequestFields;
  if (ZERO.test(p.newSha)) {
    if (!existing) return { kind: 'refused', reason: `no active request for ${p.ref}` };
    return { kind: 'command', command: { type: 'WithdrawRequest', ref: p.ref }, existing };
  }
  if (existing) {
    let forced = false;
    if (existing.sha !== p.newSha) {
      const known = ancestry.get(ancestryKey(existing.sha, p.newSha));
      if (known === undefined) return { kind: 'needs-ancestry', ancestor: existing.sha, descendant: p.newSha };
      forced = !known;
    }
    return { kind: 'command', command: { type: 'UpdateRequest', ref: p.ref, sha: p.newSha, forced, ...defined }, existing };
  }
  return { kind: 'command', command: { type: 'OpenRequest', ref: p.ref, sha: p.newSha, autoPickme: p.autoPickme, ...defined }, existing };
}
