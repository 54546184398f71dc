// Human subjects and machine-readable trailers for metadata commits: `git log` is the audit trail.
import { actorName, type Actor } from './actor.js';
import type { Command } from './commands.js';
import type { DomainEvent, EventOf } from './events.js';
import { SCHEMA_VERSION } from './codec.js';
import { requestsInPush, type Board } from './model.js';
import { pushView, requestView, type StatusPush, type StatusRequest } from './status-view.js';
import { safeLine, shortSha } from './text.js';
import { logHint } from './jobs.js';

export interface CommitMessage {
  readonly subject: string;
  readonly body: string;
  readonly trailers: readonly (readonly [string, string])[];
}

const n = (xs: readonly unknown[]) => xs.join(', ');

export function commandSubject(cmd: Command, events: readonly DomainEvent[]): string {
  return baseSubject(cmd, events) + bisectionClause(events);
}

/** What a commit did to a culprit search, for `git log` and the request's history. */
function bisectionClause(events: readonly DomainEvent[]): string {
  const out: string[] = [];
  for (const e of events) {
    if (e.type === 'BisectionStarted') out.push(`bisecting push ${e.push} (${e.requests.length} request${e.requests.length === 1 ? '' : 's'}) for ${oneLine(e.name)}`);
    else if (e.type === 'BisectionRebased') out.push(`bisection of push ${e.push} moved to its new deploy branch`);
    else if (e.type === 'BisectionConcluded') {
      const removed = events.some((x) => x.type === 'RequestRemoved' && x.cause === 'pipeline' && x.request === e.culprit);
      const found =
        e.outcome === 'culprit' ? `found request ${e.culprit}${removed ? `, removed from push ${e.push}` : ''}`
        : e.outcome === 'pair' ? `found requests ${e.culprit} and ${e.partner}, red only together${removed ? `; ${e.culprit} removed from push ${e.push}` : ''}`
        : e.outcome === 'master-red' ? 'found master itself red'
        : `stopped: ${oneLine(e.reason)}`;
      out.push(`bisection of push ${e.push} ${found}`);
    }
  }
  return out.length ? `; ${out.join('; ')}` : '';
}

function baseSubject(cmd: Command, events: readonly DomainEvent[]): string {
  const opened = events.find((e) => e.type === 'RequestOpened');
  switch (cmd.type) {
    case 'OpenRequest':
      return opened && opened.type === 'RequestOpened' ? `Open request ${opened.request.id}: ${oneLine(opened.request.title)}` : `Open request for ${cmd.ref}`;
    case 'UpdateRequest': return `Update ${cmd.ref} to ${cmd.sha.slice(0, 12)}${cmd.forced ? ' (forced)' : ''}`;
    case 'WithdrawRequest': return `Withdraw ${cmd.ref}`;
    case 'PickmeRequest': return `Pick request ${cmd.request}${cmd.push ? ` into push ${cmd.push}` : ''}`;
    case 'UnpickmeRequest': return `Unpick request ${cmd.request}`;
    case 'VerifyRequest': return `Verify request ${cmd.request}`;
    case 'VerifyPush': return `Verify requests of push ${cmd.push}`;
    case 'DelayRequest': return `Delay request ${cmd.request}`;
    case 'UndelayRequest': return `Undelay request ${cmd.request}`;
    case 'DiscardRequest': return `Discard request ${cmd.request}`;
    case 'CommentRequest': return `Comment on request ${cmd.request}`;
    case 'EditRequest': return `Edit request ${cmd.request}`;
    case 'OpenPush': return `Open ${cmd.pushType} push: ${oneLine(cmd.title)}`;
    case 'AcceptRequests': return `Accept request${cmd.requests.length > 1 ? 's' : ''} ${n(cmd.requests)} into push ${cmd.push}`;
    case 'RemoveRequest': return `Remove request ${cmd.request} from push ${cmd.push}: ${oneLine(cmd.reason)}`;
    case 'RebuildPush': return `Rebuild push ${cmd.push}`;
    case 'StagePush': return `Stage push ${cmd.push} to ${oneLine(cmd.env)}${cmd.force ? ` (forced: ${oneLine(cmd.reason ?? '')})` : ''}`;
    case 'BlessPush': return `Bless push ${cmd.push}${cmd.force ? ` (forced${cmd.reason ? `: ${oneLine(cmd.reason)}` : ''})` : ''}`;
    case 'CertifyPush': return `Certify push ${cmd.push}${cmd.force ? ' (forced)' : ''}`;
    case 'DiscardPush': return `Discard push ${cmd.push}`;
    case 'MessagePushees': return `Message pushees of push ${cmd.push}`;
    case 'PingmePush': return `${cmd.on ? 'Ping' : 'Stop pinging'} for push ${cmd.push}`;
    case 'TakeOverPush': return `Take over push ${cmd.push}`;
    case 'TickChecklist': return `${cmd.done ? 'Tick' : 'Untick'} ${cmd.item} on push ${cmd.push}`;
    case 'RecordConflicts': return `Record conflict checks for request${cmd.results.length > 1 ? 's' : ''} ${n(cmd.results.map((r) => r.request))}`;
    case 'RetryJob': return `Retry job ${cmd.job}`;
    case 'CancelJob': return `Cancel job ${cmd.job}`;
    case 'RecordJob': return `Job ${cmd.job} ${cmd.change.type}`;
    case 'TestBisectCandidates': {
      // The history says what each candidate held and its SHA, so the search can be followed in `push show`.
      const what = (m: readonly { readonly request: number }[]) => (m.length === 0 ? 'master alone' : m.length <= 4 ? `master + ${m.map((x) => `#${x.request}`).join(', ')}` : `master + ${m.length} requests #${m[0]!.request} … #${m.at(-1)!.request}`);
      return `Bisect push ${cmd.push} (job ${cmd.bisection}): test ${cmd.candidates.map((c) => `${what(c.members)}${c.sha ? ` at ${c.sha.slice(0, 10)}` : ''}`).join('; ')}`;
    }
    case 'ReportJob': return `Report job ${cmd.job} ${cmd.state}`;
    case 'FollowUpstream': return `Follow upstream: ${cmd.ref.replace(/^refs\/heads\//, '')} ${cmd.from ?? 'absent'} -> ${cmd.to}`;
    case 'RecordBuild': return `Build deploy branch of push ${cmd.push} at ${cmd.deploySha?.slice(0, 12) ?? 'none'}`;
  }
}

/** A stage or bless whose jobs run: the push is staging / blessing, which jobs, and how to follow them. */
function deployingAnswer(e: EventOf<'DeployStarted'> | undefined, push: StatusPush | undefined): string {
  if (!e) return '';
  const d = e.deploying;
  const jobs = d.jobs.map((id) => push?.jobs?.find((j) => j.id === id)).filter((j) => j !== undefined);
  const names = jobs.map((j) => `${safeLine(j.name)} (job ${j.id})`).join(', ');
  const first = d.jobs[0] ?? '?';
  const sha = jobs[0] ? ` at ${shortSha(jobs[0].sha)}` : '';
  const where = d.step === 'stage' ? `staging on ${safeLine(d.env ?? '')}` : 'blessing (production deploy)';
  const then = d.step === 'stage' ? 'staged (the pushees are asked to verify then)' : 'blessed';
  return `push ${e.push} is ${where}: ${d.step} job${d.jobs.length === 1 ? '' : 's'} ${names}${sha} running; it becomes ${then} when ${d.jobs.length === 1 ? 'it passes' : 'they pass'}; follow: ${logHint(jobs[0], first, { follow: true })}`;
}

const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ').slice(0, 100);

/** Ids an event touches, for the trailers. */
function ids(events: readonly DomainEvent[]) {
  const requests = new Set<number>();
  const pushes = new Set<number>();
  for (const e of events) {
    if ('request' in e) requests.add(typeof e.request === 'number' ? e.request : e.request.id);
    if ('push' in e) pushes.add(typeof e.push === 'number' ? e.push : e.push.id);
  }
  return { requests: [...requests].sort((a, b) => a - b), pushes: [...pushes].sort((a, b) => a - b) };
}

/**
 * `changedRequests`: every request the commit changed, besides those its events name: a push-wide
 * step (stage, bless, certify, discard) changes all the requests of its push, and each gets its own
 * `Pushmanager-Request` trailer, so `git log --grep` finds that step in each request's history.
 */
export function commitMessage(cmd: Command, events: readonly DomainEvent[], actor: Actor, changedRequests: readonly number[] = []): CommitMessage {
  const named = ids(events);
  const requests = [...new Set([...named.requests, ...changedRequests])].sort((a, b) => a - b);
  const pushes = named.pushes;
  const trailers: [string, string][] = [
    ['Pushmanager-Command', cmd.type],
    // A user's name, as tools have always read it; the system's work also says why it ran, and that
    // Cause trailer, not the name, is what tells it from a user who happens to be called `pushmanager`.
    ['Pushmanager-Actor', actorName(actor)],
    ...(actor.kind === 'system' ? [['Pushmanager-Cause', actor.cause] as [string, string]] : []),
    ...requests.map((id) => ['Pushmanager-Request', String(id)] as [string, string]),
    ...pushes.map((id) => ['Pushmanager-Push', String(id)] as [string, string]),
    ['Pushmanager-Events', events.map((e) => e.type).join(' ') || 'none'],
    ['Pushmanager-Schema', String(SCHEMA_VERSION)],
  ];
  const body = events.map((e) => `- ${e.type}${'request' in e && typeof e.request === 'number' ? ` request ${e.request}` : ''}`).join('\n');
  return { subject: commandSubject(cmd, events), body, trailers };
}

export function renderCommitMessage(m: CommitMessage): string {
  return `${m.subject}\n\n${m.body ? m.body + '\n\n' : ''}${m.trailers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Answers to people: what a command did, said with the facts needed next (ids, SHAs, what to run).
// The CLI prints them and the dashboard's status line shows them: one rendering for both.

/** What the API answers for an accepted command: its events, and the pushes and requests they touched, as they are after it. */
export interface CommandOutcome {
  readonly changes: readonly DomainEvent[];
  readonly pushes: readonly StatusPush[];
  readonly requests: readonly StatusRequest[];
}

/** The parts of a command the answer needs when its events alone do not say (nothing changed). */
export interface CommandRef {
  readonly type: string;
  readonly push?: number;
  readonly request?: number;
}

/** The outcome of `cmd` from the board after it: touched pushes (with all their requests) and touched requests. */
export function commandOutcome(board: Board, cmd: CommandRef, events: readonly DomainEvent[]): CommandOutcome {
  const touched = ids(events);
  const pushIds = new Set<number>(touched.pushes);
  const requestIds = new Set<number>(touched.requests);
  if (typeof cmd.push === 'number') pushIds.add(cmd.push);
  if (typeof cmd.request === 'number') requestIds.add(cmd.request);
  for (const e of events) if ('requests' in e && Array.isArray(e.requests)) for (const id of e.requests as readonly number[]) requestIds.add(id);
  for (const e of events) if ('returned' in e) for (const id of e.returned) requestIds.add(id);
  const pushes = [...pushIds].map((id) => board.pushes[id]).filter((p) => p !== undefined);
  for (const p of pushes) for (const r of requestsInPush(board, p.id)) requestIds.add(r.id);
  const requests = [...requestIds].sort((a, b) => a - b).map((id) => board.requests[id]).filter((r) => r !== undefined);
  return { changes: events, pushes: pushes.map((p) => pushView(board, p)), requests: requests.map(requestView) };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const idList = (xs: readonly number[]) => xs.join(', ');
const quoted = (s: string) => `"${safeLine(s)}"`;

/** One sentence (clauses joined by "; ") saying what the command did, from the API's answer. */
export function answerSentence(cmd: CommandRef, o: CommandOutcome): string {
  // A server from before these fields answers only with event names: say it worked, without guessing.
  if (!Array.isArray(o.changes) || !Array.isArray(o.pushes) || !Array.isArray(o.requests)) return 'done (this server sends no details of what changed)';
  const events = o.changes;
  const pushOf = (id: number | undefined) => o.pushes.find((p) => p.id === id);
  const reqOf = (id: number) => o.requests.find((r) => r.id === id);
  const of = <T extends DomainEvent['type']>(t: T) => events.filter((e): e is Extract<DomainEvent, { type: T }> => e.type === t);
  const push = pushOf(cmd.push ?? events.map((e) => ('push' in e ? (typeof e.push === 'number' ? e.push : e.push.id) : undefined)).find((x) => x !== undefined));
  const deploy = (p: StatusPush | undefined) => (!p ? '' : p.deploySha ? `${p.deployBranch} at ${shortSha(p.deploySha)}` : `${p.deployBranch} not built yet`);
  const inPush = (p: StatusPush, state: string) => p.requests.map(reqOf).filter((r) => r !== undefined && r.state === state) as StatusRequest[];
  const who = (rs: readonly StatusRequest[]) => rs.map((r) => `${r.id} (${safeLine(r.user)})`).join(', ');
  const clauses: string[] = [];

  if (!events.length) {
    if (cmd.type === 'RebuildPush' && push) return `push ${push.id} rebuilt: ${deploy(push)}, already current`;
    return `nothing changed${push ? ` on push ${push.id}` : cmd.request !== undefined ? ` on request ${cmd.request}` : ''}`;
  }
  const main = (): string => {
    switch (cmd.type) {
      case 'OpenPush': {
        const opened = of('PushOpened')[0];
        if (!opened) break;
        const p = pushOf(opened.push.id);
        const picked = of('RequestPicked').length;
        return `push ${opened.push.id} ${quoted(opened.push.title)} opened (${opened.push.type}); ${picked ? plural(picked, 'pickme') : 'no pickmes yet'}${p ? `; ${deploy(p)}` : ''}`;
      }
      case 'AcceptRequests': {
        const acc = of('RequestAccepted').map((e) => e.request);
        return `accepted ${idList(acc)} into push ${push?.id ?? cmd.push}${push ? `; ${deploy(push)}` : ''}`;
      }
      case 'RemoveRequest': {
        const rm = of('RequestRemoved')[0];
        return rm ? `removed ${rm.request} from push ${rm.push} (back to ${rm.toState})${push ? `; ${deploy(push)}` : ''}` : '';
      }
      case 'RebuildPush':
        return push ? `push ${push.id} rebuilt: ${deploy(push)}${push.baseSha ? ` on master ${shortSha(push.baseSha)}` : ''}` : '';
      case 'StagePush': {
        const st = of('PushStaged')[0];
        const running = deployingAnswer(of('DeployStarted')[0], push);
        if (running) return running;
        if (!st || !push) break;
        const forced = st.forced ? ` (forced past jobs ${st.forced.jobs.join(', ')}: ${safeLine(st.forced.reason)})` : '';
        return `staged push ${st.push} on ${safeLine(st.env)}${forced}: ${deploy(push)}; ${plural(st.requests.length, 'request')} to verify (${idList(st.requests)})`;
      }
      case 'VerifyRequest':
      case 'VerifyPush': {
        const v = of('RequestVerified').map((e) => e.request);
        if (!push) return `verified ${idList(v)}`;
        const left = inPush(push, 'staged');
        return `verified ${idList(v)} in push ${push.id}; ${of('AllVerified').length || !left.length ? `every request is verified: the pushmaster may bless (pushmanager push bless ${push.id})` : `still to verify: ${who(left)}`}`;
      }
      case 'BlessPush': {
        const b = of('PushBlessed')[0];
        const running = deployingAnswer(of('DeployStarted')[0], push);
        if (running) return running;
        if (!b || !push) break;
        const past = b.jobs?.length ? `; past jobs ${b.jobs.join(', ')}` : '';
        const why = b.reason ? `: ${safeLine(b.reason)}` : '';
        return `blessed push ${b.push}: ${deploy(push)} goes to production${b.forced && b.unverified.length ? ` (forced; unverified: ${idList(b.unverified)}${past}${why})` : b.forced ? ` (forced${past}${why})` : ''}; certify with: pushmanager push certify ${b.push}`;
      }
      case 'CertifyPush': {
        const c = of('PushCertified')[0];
        if (!c) break;
        return `certified push ${c.push}: master at ${shortSha(c.masterSha)}, tag ${safeLine(c.tag)}; ${plural(c.requests.length, 'request')} live${c.returned.length ? `; ${idList(c.returned)} back to waiting` : ''}`;
      }
      case 'DiscardPush': {
        const d = of('PushDiscarded')[0];
        if (!d) break;
        return `discarded push ${d.push}; ${d.returned.length ? `${plural(d.returned.length, 'request')} wait${d.returned.length === 1 ? 's' : ''} again (${idList(d.returned)})` : 'it had no requests'}`;
      }
      case 'MessagePushees': {
        const m = of('PushMessageSent')[0];
        return m ? `message sent to the pushees of push ${m.push}${m.state ? ` (${m.state} requests only)` : ''}` : '';
      }
      case 'PingmePush': {
        const p = of('PingmeChanged')[0];
        return p ? (p.on ? `${safeLine(p.user)} will be pinged when push ${p.push} is staged and blessed` : `${safeLine(p.user)} is no longer pinged for push ${p.push}`) : '';
      }
      case 'TakeOverPush': {
        const t = of('PushTakenOver')[0];
        return t ? `push ${t.push} is driven by ${safeLine(t.to)} now (was ${safeLine(t.from)})${push ? `; ${deploy(push)}` : ''}` : '';
      }
      case 'TickChecklist': {
        const t = of('ChecklistTicked')[0];
        if (!t) break;
        const open = (push?.checklist ?? []).filter((i) => !i.done);
        return `${t.done ? 'ticked' : 'unticked'} ${safeLine(t.item)} on push ${t.push}; ${open.length ? `open: ${open.map((i) => safeLine(i.id)).join(', ')}` : 'checklist done'}`;
      }
      case 'PickmeRequest': {
        const p = of('RequestPicked')[0];
        const r = p && reqOf(p.request);
        return p ? `request ${p.request}${r ? ` ${quoted(r.title)}` : ''} is a pickme of push ${p.push}${push ? ` ${quoted(push.title)} (pushmaster ${safeLine(push.pushmaster)})` : ''}` : '';
      }
      case 'UnpickmeRequest': {
        const u = of('RequestUnpicked')[0];
        return u ? `request ${u.request} is out of push ${u.push}, waiting (${reqOf(u.request)?.state ?? 'requested'})` : '';
      }
      case 'DelayRequest': {
        const d = of('RequestDelayed')[0];
        return d ? `request ${d.request} delayed; undelay with: pushmanager request undelay ${d.request}` : '';
      }
      case 'UndelayRequest': {
        const u = of('RequestUndelayed')[0];
        const r = u && reqOf(u.request);
        return u ? `request ${u.request} ${r?.state === 'pickme' ? `is a pickme of push ${r.push} again` : 'waits for a push again (requested)'}` : '';
      }
      case 'DiscardRequest': {
        const d = of('RequestDiscarded')[0];
        return d ? `request ${d.request} discarded` : '';
      }
      case 'CommentRequest': {
        const c = of('CommentAdded')[0];
        const r = c && reqOf(c.request);
        return c ? `commented on request ${c.request}${r ? ` (${plural(r.comments, 'comment')})` : ''}` : '';
      }
      case 'RetryJob': {
        const q = of('JobQueued')[0];
        if (!q) return '';
        const queued = `job ${q.job.id} queued: ${safeLine(q.job.name)} again on ${shortSha(q.job.sha)} (attempt ${q.job.attempt})`;
        // An external CI runs it and keeps its log: the server has none to follow.
        return q.job.runner === 'external'
          ? `${queued}; announced to the external CI, which reports its result; follow it: pushmanager job show ${q.job.id}`
          : `${queued}; follow it: pushmanager job log ${q.job.id} --follow`;
      }
      case 'ReportJob': {
        const f = of('JobFinished')[0];
        if (f) return `job ${f.job} (${safeLine(f.name)}) ${f.state}${f.url ? ` (${safeLine(f.url)})` : ''}`;
        const late = of('JobReported')[0];
        if (!late) return '';
        const job = push?.jobs?.find((j) => j.id === late.job);
        const now = push?.deploySha ? `; push ${late.push} is now at ${shortSha(push.deploySha)}` : '';
        return `job ${late.job} had already ended (${job?.state ?? 'cancelled'}${job && job.sha !== push?.deploySha ? ` with its SHA ${shortSha(job.sha)} replaced` : ''}): the ${late.state} result is recorded and gates nothing${now}`;
      }
      case 'CancelJob': {
        // The failed build's job (or a run of its search) ends the search: say that, where it had got to and
        // how to start again, not "run job 1.4 again" (a candidate's run, which would not resume it).
        const ended = of('BisectionConcluded')[0];
        if (ended && push?.bisection?.summary) {
          const runs = of('JobFinished').map((e) => e.job);
          return `${push.bisection.summary}${runs.length ? ` (cancelled: job ${runs.join(', ')})` : ''}`;
        }
        const c = of('JobFinished')[0];
        // A deploy job is run again by its step (job retry refuses it: deploy-job), so say that one.
        const stopped = of('DeployFailed')[0];
        if (c && stopped) {
          const again = stopped.step === 'stage' ? `stage again: pushmanager push stage ${stopped.push} --env ${safeLine(stopped.env ?? 'ENV')}` : `bless again: pushmanager push bless ${stopped.push}`;
          return `job ${c.job} (${safeLine(c.name)}) cancelled: the ${stopped.step === 'stage' ? `stage of push ${stopped.push}${stopped.env ? ` to ${safeLine(stopped.env)}` : ''}` : `bless of push ${stopped.push}`} stopped and push ${stopped.push} is still ${push?.state ?? 'where it was'}; ${again}`;
        }
        return c ? `job ${c.job} (${safeLine(c.name)}) cancelled; run it again with: pushmanager job retry ${c.job}` : '';
      }
      case 'EditRequest': {
        const e = of('RequestEdited')[0];
        return e ? `request ${e.request} edited: ${Object.keys(e.changes).join(', ')}` : '';
      }
    }
    return '';
  };
  const first = main();
  clauses.push(first || events.map((e) => e.type).join(', '));
  // What the server did besides: requests its build dropped or removed, requests picked up again.
  for (const e of of('RequestRemoved')) if (cmd.type !== 'RemoveRequest') clauses.push(`removed ${e.request} from push ${e.push}: ${safeLine(e.reason)}`);
  if (cmd.type !== 'OpenPush' && cmd.type !== 'PickmeRequest' && cmd.type !== 'UndelayRequest') {
    const picked = of('RequestPicked').map((e) => e.request);
    if (picked.length) clauses.push(`${idList(picked)} picked into push ${of('RequestPicked')[0]!.push}`);
  }
  return clauses.join('; ');
}
