// What a push to the managed repository means. Called by the server when the proc-receive hook reports
// ref updates: refuses refs that are not the pushers' (nothing is recorded for a refused ref), hands the
// refs/pushreq/* updates to the write path, which turns each into a command on the board it decides on
// (state/intake.ts), and composes the `remote:` answer. Every other ref is the server's alone.
import type { Command } from '../state/commands.js';
import type { Actor, UserActor } from '../state/decide.js';
import { describeError, type DomainError } from '../state/errors.js';
import { activeRequestFor, type PushedRef } from '../state/intake.js';
import { accepting, isOpenPush, pushesOf, type Board, type PushRequest } from '../state/model.js';
import { safeLine, shortSha } from '../state/text.js';
import { MAX_PUSH_OPTION_BYTES, MAX_PUSH_OPTIONS, type HookRequest, type HookResponse, type RefCommand, type RefResult } from './hook-protocol.js';
import { PUSH_OPTION_KEYS, parsePushOptions, type ParsedPushOptions } from './push-options.js';

export const PUSHREQ_PREFIX = 'refs/pushreq/';

/** A pushed ref's command as the writer decided it, with the request the ref named on that board. */
export interface ResolvedRef {
  readonly command: Command;
  readonly existing: PushRequest | undefined;
}

/** What recording a push came to: committed (with the boards before and after), or refused (nothing recorded). */
export type Recorded =
  | { readonly ok: true; readonly board: Board; readonly before: Board; readonly resolved: readonly ResolvedRef[] }
  /** `index`: the ref refused; by decide (`error`) or before deciding (`reason` alone). */
  | { readonly ok: false; readonly index: number; readonly error?: DomainError; readonly reason: string };

export interface ReceiveDeps {
  /**
   * Records pushed refs through the server's one write path: the open/update/withdraw choice is made
   * in the writer from the board it decides on (one board read), all committed in one state commit or
   * none. Called with one ref per call unless the push is atomic. `onDecided` hears that board, and
   * each ref's command, before the commit.
   */
  readonly record: (pushed: readonly PushedRef[], actor: Actor, onDecided: (board: Board, resolved: readonly ResolvedRef[]) => void) => Promise<Recorded>;
  /** The pusher as the directory knows them: always a user (the system never pushes), whatever the name. */
  readonly lookupUser: (name: string) => Promise<UserActor | null>;
  readonly refs: { readonly master: string; readonly metadata: string; readonly deployPrefix: string };
  /** How a pushee finds a request again, e.g. the CLI command. */
  readonly remoteName?: string;
  /** Starts work about a pushed SHA alongside its recording (the train's conflict check), on the board it is decided on. */
  readonly beforeRecord?: (sha: string, ref: string, board: Board) => Promise<unknown>;
  /** Lines about a request after it was recorded (its conflicts), on the board its push left; added by the train. */
  readonly afterRecorded?: (r: PushRequest, board: Board, early: Promise<unknown> | undefined) => Promise<string[]>;
  /** Told, per ref, how long after the hook call its command was committed (push-to-recorded). */
  readonly onRecorded?: (ms: number) => void;
  /**
   * What a pushed object is, before anything is recorded: a request is a commit. An annotated tag, a
   * tree or a blob was recorded as a request, and then failed every conflict check and build of its push.
   */
  readonly objectKind?: (sha: string) => Promise<ObjectKind>;
}

/** A pushed object as a request sees it: `tag` peels to a commit, `tag-of-tree-or-blob` does not. */
export type ObjectKind = 'commit' | 'tag' | 'tag-of-tree-or-blob' | 'tree-or-blob';

/**
 * An object's kind from a reader of objects by name (`git cat-file --batch`, long-lived): peeled to a
 * tag, then to a commit, so only a tag's or a commit's body is ever read, never a blob's, however large.
 * The tag is asked first: a tag of a tree does not peel to a commit, and was called "a tree or a blob".
 */
export async function objectKindVia(read: (name: string) => Promise<unknown>, sha: string): Promise<ObjectKind> {
  const tag = (await read(`${sha}^{tag}`)) !== null;
  const commit = (await read(`${sha}^{commit}`)) !== null;
  if (tag) return commit ? 'tag' : 'tag-of-tree-or-blob';
  return commit ? 'commit' : 'tree-or-blob';
}

/** Why a client may not push to a ref outside refs/pushreq/*, in words the pusher can act on. */
export function protectedRefReason(ref: string, refs: ReceiveDeps['refs']): string {
  const hint = 'open a push request instead: git push origin HEAD:refs/pushreq/<name>';
  if (ref === `refs/heads/${refs.master}`) return `${refs.master} is written only by pushmanager when a push is certified; ${hint}`;
  if (ref === `refs/heads/${refs.metadata}`) return 'the metadata branch is written only by the pushmanager server';
  if (ref.startsWith(`refs/heads/${refs.deployPrefix}`)) return 'deploy branches are built only by pushmanager from accepted requests';
  if (ref.startsWith('refs/tags/')) return 'tags are made only by pushmanager when a push is certified';
  // The server sees the ref pushed to, not the local branch it came from: the request keeps the branch's name.
  if (ref.startsWith('refs/heads/')) return `pushmanager takes branches only as push requests; open one instead: git push origin <your-branch>:refs/pushreq/${ref.slice('refs/heads/'.length)}`;
  return `refs outside refs/pushreq/ are written only by pushmanager; ${hint}`;
}

function validPushreqName(ref: string): string | null {
  const name = ref.slice(PUSHREQ_PREFIX.length);
  if (!name) return 'the request needs a name: refs/pushreq/<name>';
  if (name.length > 200) return `the ref name is ${name.length} characters; at most 200`;
  // git already refuses control characters and spaces in ref names; check again at our own edge.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the ref name contains control characters';
  const bad = refFormatProblem(name);
  return bad && `"${ref}" is not a name git allows for a ref: ${bad}`;
}

/**
 * Why git would refuse `name` (the part after refs/pushreq/) as a ref name, or null: git's own rules
 * (git check-ref-format). receive-pack checks them only for the refs it writes itself; the refs it hands
 * to proc-receive (all of them here) reach the server unchecked, and the write path's `git update-ref`
 * would then fail inside the state commit with git's bare "invalid ref format".
 */
export function refFormatProblem(name: string): string | null {
  if (name.includes('..')) return 'it contains ".."';
  if (name.includes('@{')) return 'it contains "@{"';
  if (name === '@') return 'it is "@"';
  const odd = /[ ~^:?*[\\]/.exec(name);
  if (odd) return `it contains ${odd[0] === ' ' ? 'a space' : `"${odd[0]}"`}`;
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it has an empty path component ("//" or a "/" at the end)';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `its component "${part}" starts with "."`;
    if (part.endsWith('.lock')) return `its component "${part}" ends with ".lock"`;
  }
  return null;
}

/** A refusal from decide, in the pusher's terms: a bad field there came from a push option. */
function describeRefusal(e: DomainError): string {
  const option = e.code === 'invalid-field' && (PUSH_OPTION_KEYS as readonly unknown[]).includes(e.data.field);
  return option ? `push option ${describeError(e)}` : describeError(e);
}

/** What every other ref of a refused atomic push is told. */
export const NOT_APPLIED = 'not applied: another ref of this atomic push was refused';

/** `started`: when the hook call arrived (performance.now()), for the push-to-recorded time. */
export async function handleReceive(req: HookRequest, deps: ReceiveDeps, started = performance.now()): Promise<HookResponse> {
  const actor = await deps.lookupUser(req.user);
  if (!actor) {
    const reason = `unknown user "${safeLine(req.user)}"`;
    return { results: req.commands.map((c) => ({ ref: c.ref, ok: false, reason })), messages: [reason] };
  }
  if (req.optionsDropped) {
    const total = req.options.length + req.optionsDropped;
    const reason = `too many push options (${total}; at most ${MAX_PUSH_OPTIONS}, ${MAX_PUSH_OPTION_BYTES / 1024} KiB in all): give each of ${PUSH_OPTION_KEYS.join(', ')} at most once`;
    return { results: req.commands.map((c) => ({ ref: c.ref, ok: false, reason })), messages: [`refused: ${reason}; nothing was recorded`] };
  }
  const options = parsePushOptions(req.options);
  // Every bad option at once. Watchers are checked where every door's are (decide, through the
  // dispatcher); only when the push is refused anyway are they looked up here, so that one refusal
  // names every problem.
  if (!options.ok) {
    const unknownWatchers = await unknownUsers(options.value.watchers ?? [], deps.lookupUser);
    const reason = listProblems([...options.problems, ...unknownWatchers.map((u) => `push option "watchers": no user "${u}"`)]);
    return { results: req.commands.map((c) => ({ ref: c.ref, ok: false, reason })), messages: [`refused: ${reason}; nothing was recorded`] };
  }
  const twice = namedTwice(req.commands);
  if (req.atomic && req.commands.length > 1) return handleAtomic(req.commands, actor, options.value, deps, started, twice);

  const messages: string[] = [];
  const results: RefResult[] = [];
  for (const c of req.commands) {
    const again = twice.get(c.ref);
    if (again !== undefined) {
      // One answer per command, in order; the `remote:` line once per ref.
      results.push({ ref: c.ref, ok: false, reason: again });
      if (results.filter((r) => r.ref === c.ref).length === 1) messages.push(`${c.ref}: refused: ${again}`);
      continue;
    }
    const r = await handleOne(c, actor, options.value, deps, started);
    results.push(r.result);
    messages.push(...r.messages);
  }
  return { results, messages };
}

/** Every problem, up to ten: past that a list helps nobody, and git's report line has a size limit. */
function listProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, 10).join('; ');
  return problems.length > 10 ? `${shown}; and ${problems.length - 10} more` : shown;
}

async function unknownUsers(users: readonly string[], lookup: ReceiveDeps['lookupUser']): Promise<string[]> {
  const unknown: string[] = [];
  for (const u of users) if (!(await lookup(u))) unknown.push(u);
  return unknown;
}

type Outcome = { result: RefResult; messages: string[] };

const refusal = (c: RefCommand, reason: string): Outcome => ({ result: { ref: c.ref, ok: false, reason }, messages: [`${c.ref}: refused: ${reason}`] });

/**
 * The refs a hand-made push names more than once (git's own client refuses that itself: "dst ref
 * receives from more than one src"), with why each such command is refused. None is recorded: each
 * would update the one request in turn, the last one winning, while receive-pack gives the hook's
 * answers to the commands by ref name, so the first command took every answer and the second ended
 * with "proc-receive failed to report status".
 */
function namedTwice(commands: readonly RefCommand[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const c of commands) count.set(c.ref, (count.get(c.ref) ?? 0) + 1);
  const why = new Map<string, string>();
  for (const [ref, n] of count)
    if (n > 1) why.set(ref, `this push names ${ref} ${n} times; a ref takes one update per push, so none of them was recorded: push it once (git push origin <commit>:${ref})`);
  return why;
}

/** What may be refused before the board is read: refs that are not the pushers' to write. */
function refRefusal(c: RefCommand, deps: ReceiveDeps): string | null {
  if (!c.ref.startsWith(PUSHREQ_PREFIX)) return protectedRefReason(c.ref, deps.refs);
  return validPushreqName(c.ref);
}

function pushedRef(c: RefCommand, o: ParsedPushOptions): PushedRef {
  return { ref: c.ref, oldSha: c.oldSha, newSha: c.newSha, autoPickme: o.pickme ?? true, fields: { title: o.title, description: o.description, tags: o.tags, watchers: o.watchers, review: o.review, ticket: o.ticket } };
}

/** The recording of some refs, with the pusher's conflict checks started alongside the commit. */
async function record(commands: readonly RefCommand[], actor: Actor, o: ParsedPushOptions, deps: ReceiveDeps): Promise<{ out: Recorded; early: (Promise<unknown> | undefined)[] }> {
  const early: (Promise<unknown> | undefined)[] = [];
  const out = await deps.record(
    commands.map((c) => pushedRef(c, o)),
    actor,
    (board, resolved) => {
      for (const [i, r] of resolved.entries()) {
        const e = r.command.type !== 'WithdrawRequest' ? deps.beforeRecord?.(commands[i]!.newSha, commands[i]!.ref, board) : undefined;
        e?.catch(() => undefined); // a refused push never awaits it
        early[i] = e;
      }
    },
  );
  return { out, early };
}

const reasonOf = (out: Extract<Recorded, { ok: false }>): string => (out.error ? describeRefusal(out.error) : out.reason);

const ZERO_SHA = /^0+$/;

/** Why each pushed SHA that is not a commit cannot be a request, per ref (deletions are no objects). */
async function notCommits(commands: readonly RefCommand[], deps: ReceiveDeps): Promise<Map<string, string>> {
  const why = new Map<string, string>();
  if (!deps.objectKind) return why;
  for (const c of commands) {
    if (ZERO_SHA.test(c.newSha)) continue;
    const kind = await deps.objectKind(c.newSha);
    if (kind === 'tag') why.set(c.ref, `a push request is a commit, and ${shortSha(c.newSha)} is an annotated tag; push the commit it tags: git push origin <tag>^{commit}:${c.ref}`);
    else if (kind === 'tag-of-tree-or-blob')
      why.set(c.ref, `a push request is a commit, and ${shortSha(c.newSha)} is an annotated tag of a tree or a blob, not of a commit: there is no commit to push from it; push a commit instead: git push origin <commit>:${c.ref}`);
    else if (kind !== 'commit') why.set(c.ref, `a push request is a commit, and ${shortSha(c.newSha)} is a tree or a blob`);
  }
  return why;
}

async function handleOne(c: RefCommand, actor: Actor, o: ParsedPushOptions, deps: ReceiveDeps, started: number): Promise<Outcome> {
  const bad = refRefusal(c, deps);
  if (bad) return refusal(c, bad);
  const notCommit = (await notCommits([c], deps)).get(c.ref);
  if (notCommit) return refusal(c, notCommit);
  const { out, early } = await record([c], actor, o, deps);
  if (!out.ok) return refusal(c, reasonOf(out));
  deps.onRecorded?.(performance.now() - started);
  return answer(c, out.resolved[0]!, early[0], out.board, deps);
}

/**
 * `git push --atomic`: every ref is accepted and recorded in one state commit, or none is. A refused
 * ref says why; every other one says it was not applied because of it.
 */
async function handleAtomic(commands: readonly RefCommand[], actor: Actor, o: ParsedPushOptions, deps: ReceiveDeps, started: number, twice: ReadonlyMap<string, string>): Promise<HookResponse> {
  const refuseAll = (failed: ReadonlyMap<string, string>): HookResponse => {
    const messages: string[] = [];
    const results: RefResult[] = commands.map((c) => {
      const own = failed.get(c.ref);
      const line = `${c.ref}: refused: ${own}`;
      if (own !== undefined && !messages.includes(line)) messages.push(line);
      return { ref: c.ref, ok: false, reason: own ?? NOT_APPLIED };
    });
    messages.push(`refused: atomic push, ${failed.size} of ${commands.length} refs refused; nothing was recorded`);
    return { results, messages };
  };
  const failed = new Map(commands.flatMap((c) => {
    const bad = twice.get(c.ref) ?? refRefusal(c, deps);
    return bad ? [[c.ref, bad] as const] : [];
  }));
  if (failed.size) return refuseAll(failed);
  const notCommit = await notCommits(commands, deps);
  if (notCommit.size) return refuseAll(notCommit);
  const { out, early } = await record(commands, actor, o, deps);
  if (!out.ok) return refuseAll(new Map([[commands[out.index]!.ref, reasonOf(out)]]));
  const messages: string[] = [];
  const results: RefResult[] = [];
  for (const [i, c] of commands.entries()) {
    deps.onRecorded?.(performance.now() - started);
    const r = await answer(c, out.resolved[i]!, early[i], out.board, deps);
    results.push(r.result);
    messages.push(...r.messages);
  }
  return { results, messages };
}

/** The `remote:` answer for one recorded ref, from the board its command left. */
async function answer(c: RefCommand, resolved: ResolvedRef, early: Promise<unknown> | undefined, board: Board, deps: ReceiveDeps): Promise<Outcome> {
  const { command: cmd, existing } = resolved;
  const req = cmd.type === 'WithdrawRequest' ? (existing ? board.requests[existing.id] : undefined) : activeRequestFor(board, c.ref);
  const lines: string[] = [];
  if (req) {
    const push = req.push !== null ? board.pushes[req.push] : undefined;
    const title = safeLine(req.title);
    if (cmd.type === 'OpenRequest') lines.push(`Pushmanager: request ${req.id} "${title}" opened for ${req.user} at ${shortSha(req.sha)}`);
    else if (cmd.type === 'UpdateRequest')
      lines.push(existing && existing.sha !== req.sha ? `Pushmanager: request ${req.id} "${title}" updated ${shortSha(existing.sha)} -> ${shortSha(req.sha)}${cmd.forced ? ' (forced)' : ''}` : `Pushmanager: request ${req.id} "${title}" details updated`);
    else lines.push(`Pushmanager: request ${req.id} "${title}" withdrawn (discarded: ${safeLine(req.reason ?? '')})`);
    lines.push(`  state: ${req.state}${push ? ` of push ${push.id} "${safeLine(push.title)}" (pushmaster ${push.pushmaster})` : ''}`);
    if (req.state === 'requested' && cmd.type === 'OpenRequest') lines.push(`  ${whyWaiting(req, board)}`);
    // The request is committed by now: a conflict check that fails must not turn the answer into
    // "nothing was recorded" (the push would be refused while its request and ref stay).
    if (cmd.type !== 'WithdrawRequest' && deps.afterRecorded)
      lines.push(...(await deps.afterRecorded(req, board, early).catch((e: unknown) => [`  conflicts: not checked (${safeLine((e as Error).message ?? String(e)).slice(0, 300)}); the request is recorded`])));
    if (cmd.type !== 'WithdrawRequest') lines.push(`  see it: pushmanager request show ${req.id}`);
  }
  const forced = cmd.type === 'UpdateRequest' && cmd.forced;
  return { result: { ref: c.ref, ok: true, forcedUpdate: forced }, messages: lines };
}

/** Why a just-opened request is not a pickme: which push exists and why the request is not in it. */
function whyWaiting(req: PushRequest, board: Board): string {
  const named = (p: { id: number; title: string }) => `push ${p.id} "${safeLine(p.title)}"`;
  const open = accepting(board);
  if (open && !req.autoPickme) return `${named(open)} is accepting, but -o pickme=no kept the request out; to join it: pushmanager request pickme ${req.id}`;
  if (open && open.type === 'urgent') return `${named(open)} is urgent and takes only requests tagged urgent; the request will be offered to the next push`;
  if (open) return `${named(open)} is accepting; offer the request to it: pushmanager request pickme ${req.id}`;
  const optedOut = req.autoPickme ? '' : ` (-o pickme=no: not automatically; then pushmanager request pickme ${req.id})`;
  const others = pushesOf(board).filter(isOpenPush);
  if (others.length) return `${others.map((p) => `${named(p)} is ${p.state}`).join(', ')}; the request will be offered to the next push${optedOut}`;
  return `no push is open; the request will be offered to the next one${optedOut}`;
}
