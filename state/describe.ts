// Human subjects and machine-readable trailers for metadata commits: `git log` is the audit trail.
import { actorName, type Actor } from './actor.js';
import type { Command } from './commands.js';
import type { DomainEvent } from './events.js';
import { SCHEMA_VERSION } from './codec.js';

export interface CommitMessage {
  readonly subject: string;
  readonly body: string;
  readonly trailers: readonly (readonly [string, string])[];
}

const n = (xs: readonly unknown[]) => xs.join(', ');

export function commandSubject(cmd: Command, events: readonly DomainEvent[]): string {
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
    case 'StagePush': return `Stage push ${cmd.push} to ${oneLine(cmd.env)}`;
    case 'BlessPush': return `Bless push ${cmd.push}${cmd.force ? ' (forced)' : ''}`;
    case 'CertifyPush': return `Certify push ${cmd.push}${cmd.force ? ' (forced)' : ''}`;
    case 'DiscardPush': return `Discard push ${cmd.push}`;
    case 'MessagePushees': return `Message pushees of push ${cmd.push}`;
    case 'PingmePush': return `${cmd.on ? 'Ping' : 'Stop pinging'} for push ${cmd.push}`;
    case 'TakeOverPush': return `Take over push ${cmd.push}`;
    case 'TickChecklist': return `${cmd.done ? 'Tick' : 'Untick'} ${cmd.item} on push ${cmd.push}`;
    case 'RecordConflicts': return `Record conflict checks for request${cmd.results.length > 1 ? 's' : ''} ${n(cmd.results.map((r) => r.request))}`;
    case 'RecordBuild': return `Build deploy branch of push ${cmd.push} at ${cmd.deploySha?.slice(0, 12) ?? 'none'}`;
  }
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
