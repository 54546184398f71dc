// What a push to the managed repository means. Called by the server when the proc-receive hook reports
// ref updates: validates (nothing is recorded for a refused ref), turns each refs/pushreq/* update into a
// command, dispatches it, and composes the `remote:` answer. Every other ref is the server's alone.
import type { Command } from '../state/commands.js';
import type { Actor } from '../state/decide.js';
import { describeError, isDomainError } from '../state/errors.js';
import { isActiveRequest, type Board, type PushRequest } from '../state/model.js';
import { safeLine, shortSha } from '../state/text.js';
import type { HookRequest, HookResponse, RefCommand, RefResult } from './hook-protocol.js';
import { PUSH_OPTION_KEYS, parsePushOptions } from './push-options.js';

export const PUSHREQ_PREFIX = 'refs/pushreq/';
const ZERO = /^0{40}$/;

export interface ReceiveDeps {
  readonly dispatch: (cmd: Command, actor: Actor) => Promise<{ ok: true; board: Board; events: readonly { type: string }[] } | import('../state/errors.js').DomainError>;
  readonly read: () => Promise<{ board: Board }>;
  /** True when `ancestor` is an ancestor of `descendant`: a re-push that is not is a force-push. */
  readonly isAncestor: (ancestor: string, descendant: string) => Promise<boolean>;
  readonly lookupUser: (name: string) => Promise<Actor | null>;
  readonly refs: { readonly master: string; readonly metadata: string; readonly deployPrefix: string };
  /** How a pushee finds a request again, e.g. the CLI command. */
  readonly remoteName?: string;
  /** Starts work about a pushed SHA alongside its recording (the train's conflict check). */
  readonly beforeRecord?: (sha: string, ref: string) => Promise<unknown>;
  /** Lines about a request after it was recorded (its conflicts), added by the train. */
  readonly afterRecorded?: (r: PushRequest, early: Promise<unknown> | undefined) => Promise<string[]>;
  /** Told, per ref, how long after the hook call its command was committed (push-to-recorded). */
  readonly onRecorded?: (ms: number) => void;
}

/** Why a client may not push to a ref outside refs/pushreq/*, in words the pusher can act on. */
export function protectedRefReason(ref: string, refs: ReceiveDeps['refs']): string {
  const hint = 'open a push request instead: git push origin HEAD:refs/pushreq/<name>';
  if (ref === `refs/heads/${refs.master}`) return `${refs.master} is written only by pushmanager when a push is certified; ${hint}`;
  if (ref === `refs/heads/${refs.metadata}`) return 'the metadata branch is written only by the pushmanager server';
  if (ref.startsWith(`refs/heads/${refs.deployPrefix}`)) return 'deploy branches are built only by pushmanager from accepted requests';
  if (ref.startsWith('refs/tags/')) return 'tags are made only by pushmanager when a push is certified';
  if (ref.startsWith('refs/heads/')) return `pushmanager takes branches only as push requests; ${hint.replace('HEAD', ref.slice('refs/heads/'.length))}`;
  return `refs outside refs/pushreq/ are written only by pushmanager; ${hint}`;
}

function validPushreqName(ref: string): string | null {
  const name = ref.slice(PUSHREQ_PREFIX.length);
  if (!name) return 'the request needs a name: refs/pushreq/<name>';
  if (name.length > 200) return `the ref name is ${name.length} characters; at most 200`;
  // git already refuses control characters and spaces in ref names; check again at our own edge.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the ref name contains control characters';
  return null;
}

/** `started`: when the hook call arrived (performance.now()), for the push-to-recorded time. */
export async function handleReceive(req: HookRequest, deps: ReceiveDeps, started = performance.now()): Promise<HookResponse> {
  const messages: string[] = [];
  const results: RefResult[] = [];
  const actor = await deps.lookupUser(req.user);
  if (!actor) {
    const reason = `unknown user "${safeLine(req.user)}"`;
    return { results: req.commands.map((c) => ({ ref: c.ref, ok: false, reason })), messages: [reason] };
  }
  const options = parsePushOptions(req.options);
  if (!options.ok) {
    return { results: req.commands.map((c) => ({ ref: c.ref, ok: false, reason: options.message })), messages: [`refused: ${options.message}; nothing was recorded`] };
  }
  // Watchers are checked against the directory where every door's are: in decide, through the dispatcher.

  for (const c of req.commands) {
    const r = await handleOne(c, actor, options.value, deps, started);
    results.push(r.result);
    messages.push(...r.messages);
  }
  return { results, messages };
}

async function handleOne(
  c: RefCommand,
  actor: Actor,
  o: import('./push-options.js').ParsedPushOptions,
  deps: ReceiveDeps,
  started: number,
): Promise<{ result: RefResult; messages: string[] }> {
  const refuse = (reason: string) => ({ result: { ref: c.ref, ok: false as const, reason }, messages: [`${c.ref}: refused: ${reason}`] });
  if (!c.ref.startsWith(PUSHREQ_PREFIX)) return refuse(protectedRefReason(c.ref, deps.refs));
  const bad = validPushreqName(c.ref);
  if (bad) return refuse(bad);

  const { board } = await deps.read();
  const existing = Object.values(board.requests).find((r) => r.ref === c.ref && isActiveRequest(r));
  const fields = { title: o.title, description: o.description, tags: o.tags, watchers: o.watchers, review: o.review, ticket: o.ticket };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  let cmd: Command;
  if (ZERO.test(c.newSha)) {
    if (!existing) return refuse(`no active request for ${c.ref}`);
    cmd = { type: 'WithdrawRequest', ref: c.ref };
  } else if (existing) {
    const forced = existing.sha !== c.newSha && !(await deps.isAncestor(existing.sha, c.newSha));
    cmd = { type: 'UpdateRequest', ref: c.ref, sha: c.newSha, forced, ...defined };
  } else {
    cmd = { type: 'OpenRequest', ref: c.ref, sha: c.newSha, autoPickme: o.pickme ?? true, ...defined };
  }
  const early = cmd.type !== 'WithdrawRequest' ? deps.beforeRecord?.(c.newSha, c.ref) : undefined;
  early?.catch(() => undefined); // a refused push never awaits it
  const out = await deps.dispatch(cmd, actor);
  if (isDomainError(out)) {
    // A bad field here came from a push option: say so, in the pusher's terms.
    const option = out.code === 'invalid-field' && (PUSH_OPTION_KEYS as readonly unknown[]).includes(out.data.field);
    return refuse(option ? `push option ${describeError(out)}` : describeError(out));
  }
  deps.onRecorded?.(performance.now() - started);
  const req = Object.values(out.board.requests).find((r) => r.ref === c.ref && (cmd.type === 'WithdrawRequest' ? r.id === existing?.id : isActiveRequest(r)));
  const lines: string[] = [];
  if (req) {
    const push = req.push !== null ? out.board.pushes[req.push] : undefined;
    const title = safeLine(req.title);
    if (cmd.type === 'OpenRequest') lines.push(`Pushmanager: request ${req.id} "${title}" opened for ${req.user} at ${shortSha(req.sha)}`);
    else if (cmd.type === 'UpdateRequest')
      lines.push(existing && existing.sha !== req.sha ? `Pushmanager: request ${req.id} "${title}" updated ${shortSha(existing.sha)} -> ${shortSha(req.sha)}${cmd.forced ? ' (forced)' : ''}` : `Pushmanager: request ${req.id} "${title}" details updated`);
    else lines.push(`Pushmanager: request ${req.id} "${title}" withdrawn (discarded: ${safeLine(req.reason ?? '')})`);
    lines.push(`  state: ${req.state}${push ? ` of push ${push.id} "${safeLine(push.title)}" (pushmaster ${push.pushmaster})` : ''}`);
    if (req.state === 'requested' && cmd.type === 'OpenRequest') lines.push('  waiting for a push to open; it will be offered to the next one');
    if (cmd.type !== 'WithdrawRequest' && deps.afterRecorded) lines.push(...(await deps.afterRecorded(req, early)));
    if (cmd.type !== 'WithdrawRequest') lines.push(`  see it: pushmanager request show ${req.id}`);
  }
  const forced = cmd.type === 'UpdateRequest' && cmd.forced;
  return { result: { ref: c.ref, ok: true, forcedUpdate: forced }, messages: lines };
}
