// Notification routing, pure: a domain event plus the board after it → the deliveries to make.
// Who hears of what follows the original's table (seed/original-behaviour.md, "Notifications");
// which channels each kind uses is configuration. No I/O, no clock: the outbox does the sending.
import type { DomainEvent, EventOf } from '../events.js';
import { IN_PUSH_STATES, MERGED_STATES, requestsInPush, type Board, type Conflict, type Push, type PushId, type PushRequest, type RequestId, type UserName } from '../model.js';
import { bisectionRuns, restVerdict } from '../bisection.js';
import { isUnrun, JOB_TAIL_LINES, logHint, runAgain, type Job } from '../jobs.js';
import { safeLine } from '../text.js';
import { DEFAULT_ROUTES, type Channel, type Delivery, type NoticeKind, type RoutingConfig } from './delivery.js';

/** One message for one audience, before it is fanned out to channels and addresses. */
interface Notice {
  /** Unique within the event: becomes part of the delivery key. */
  readonly id: string;
  readonly kind: NoticeKind;
  /** Personal recipients (XMPP, email, log, and the names said on IRC). */
  readonly users: readonly UserName[];
  /** Personal email recipients when they differ from `users` (push-opened mails only the notify-all list). */
  readonly emailUsers?: readonly UserName[];
  readonly subject: string;
  /** One or two lines for chat. */
  readonly text: string;
  /** A personal message's text for one reader (XMPP), when it names their own requests; the rest get `text`. */
  readonly textFor?: (u: UserName) => string;
  /** IRC lines when the default ("nick, nick: text" in groups of five) does not fit. */
  readonly ircLines?: (nick: (u: UserName) => string) => string[];
  readonly push?: Push;
  /** The request a notice is about, when it is about one: its emails thread with that request's. */
  readonly about?: RequestId;
}

const GROUP = 5;
const MAX_TITLE = 120;
const MAX_TEXT = 400;
const MAX_FILES = 8;

// C0, DEL, C1 and the bidirectional overrides: titles and reasons come from users, and a stray
// control code can end an IRC line, colour it, or reorder what a reader sees.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;

/** User text made safe for a one-line chat message: control characters become spaces; long text is cut. */
export function cleanText(s: string, max = MAX_TEXT): string {
  const flat = s.replace(UNSAFE, ' ').replace(/ {2,}/g, ' ').trim();
  if (flat.length <= max) return flat;
  // Cut by code point, not UTF-16 unit: half an emoji is a broken character in every client.
  const points = Array.from(flat);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : flat;
}

const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
const title = (r: PushRequest) => `#${r.id} "${cleanText(r.title, MAX_TITLE)}"`;
const pushName = (p: Push) => `push #${p.id} "${cleanText(p.title, MAX_TITLE)}"`;
const people = (r: PushRequest): UserName[] => unique([r.user, ...r.watchers]);
const without = (users: readonly UserName[], who: UserName | null) => users.filter((u) => u !== who);
/** Who needs no telling because they did it: a user; never anyone when the system acted (whatever their name). */
const doer = (e: DomainEvent): UserName | null => (e.cause === undefined ? e.actor : null);
const short = (sha: string) => cleanText(sha, 40).slice(0, 10);
const MAX_TAIL_LINE = 200;
/** The local runner's first log line ("[pushmanager] job 1.2 (test) at SHA: [argv as JSON]"): the reader knows the job, and JSON is no news. */
const RUNNER_HEADER = /^\[pushmanager\] job \S+ \(.*\) at [0-9a-f]{7,64}: \[/;

/** A job's log tail as lines that are safe to show (it is whatever the job printed, so anyone's text). */
function tailLines(tail: string | undefined): string[] {
  if (!tail) return [];
  return tail.split('\n').filter((l) => !RUNNER_HEADER.test(l)).map((l) => cleanText(safeLine(l), MAX_TAIL_LINE)).filter((l) => l !== '').slice(-JOB_TAIL_LINES);
}

/** "Last lines of its log:" and the quoted lines, or nothing when the job left none. */
function lastLinesOf(raw: string | undefined): string {
  const tail = tailLines(raw);
  return tail.length ? `\nLast lines of its log:\n${tail.map((l) => `  ${l}`).join('\n')}` : '';
}

/** " (abc1234567)": the deploy branch's SHA after a push's name, when it has one. */
const at = (p: Push): string => (p.deploySha ? ` (${short(p.deploySha)})` : '');

/** After a removal by hand: where the request is now, and the command that offers it again. */
function removedNext(r: PushRequest, cli: string): string {
  return r.state === 'requested' ? `\nIt is back to requested; to offer it again: \`${cli} request pickme ${r.id}\`` : '';
}

/** A command in a notice: in backticks, as chat and mail show code. */
const code = (s: string): string => `\`${s}\``;

function files(fs: readonly string[]): string {
  const shown = fs.slice(0, MAX_FILES).map((f) => cleanText(f, 160));
  return fs.length > MAX_FILES ? `${shown.join(', ')} and ${fs.length - MAX_FILES} more` : shown.join(', ');
}

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * What a notice says on IRC, where a line is read on its own: its first line, and for a failed job or a
 * search's finding the lines that name what to run next (a command in backticks; "Follow it: …", "To
 * bring it back: …", "Log: …"), not the quoted log. Each goes out with its addressees.
 */
function ircLinesOf(n: Notice): string[] {
  const lines = n.text.split('\n');
  if (n.kind !== 'job-failed') return [lines[0] ?? ''];
  return [lines[0] ?? '', ...lines.slice(1).filter((l) => !l.startsWith('  ') && /`[^`]+`/.test(l))];
}

/** IRC cuts a line of more than about 450 bytes wherever it falls, and the rest has no addressee: cut it here, at a word, with "…". */
const IRC_LINE = 400;
const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;
function fitIrc(line: string): string {
  if (bytes(line) <= IRC_LINE) return line;
  let cut = line;
  while (bytes(cut) > IRC_LINE - 3) cut = cut.lastIndexOf(' ') > 0 ? cut.slice(0, cut.lastIndexOf(' ')) : Array.from(cut).slice(0, -1).join('');
  return `${cut}…`;
}

/** "alice, bob, …: text" in groups of five, like the original's IRC pings. */
function groupLines(nicks: readonly string[], text: string, prefix = ''): string[] {
  if (nicks.length === 0) return [`${prefix}${text}`];
  return chunks(nicks, GROUP).map((g) => `${prefix}${g.join(', ')}: ${text}`);
}

interface Ctx {
  readonly board: Board;
  readonly cli: string;
}

const req = (b: Board, id: RequestId): PushRequest | undefined => b.requests[id];
const push = (b: Board, id: PushId): Push | undefined => b.pushes[id];

function describeConflict(c: Conflict, b: Board): string {
  if (c.with === 'master') return `master (${files(c.files)})${c.reason ? `: ${cleanText(c.reason)}` : ''}`;
  const other = req(b, c.with);
  const who = other ? `${title(other)} by ${cleanText(other.user, 64)}` : `#${c.with}`;
  return `request ${who} (${files(c.files)})`;
}

/**
 * A build job failed its retries and a culprit search takes it over: the pushmaster hears it; nobody is
 * blamed yet. Either the search starts with this failure, or (restarted on a new deploy branch, it keeps
 * the job that started it) the running search goes on with this build as its whole branch.
 */
function bisectionStarted(p: Push, e: EventOf<'JobFinished'>, cli: string): Notice {
  const search = p.bisection;
  const n = search?.requests.length ?? p.merges.length;
  const starter = search?.job ?? e.job;
  const job = p.jobs?.find((j) => j.id === e.job);
  // The automatic retry is attempt 2; a retry by hand after it is 3 or more, and says so.
  const onRetry = !job || job.attempt < 2 ? '' : job.attempt === 2 ? ' and on its retry' : ` on attempt ${job.attempt} (run again by hand)`;
  const requests = `${n} request${n === 1 ? '' : 's'} of ${pushName(p)}`;
  const what = starter === e.job
    ? `Bisecting the ${requests} to find the one that breaks it`
    : `The culprit search (started by job ${starter}) goes on on this deploy branch, the ${requests}, keeping the candidates it ran that still hold`;
  return {
    id: `job-failed-${e.job}`,
    kind: 'job-failed',
    push: p,
    users: [p.pushmaster],
    subject: `Job failed: ${cleanText(e.name, 64)} on ${pushName(p)}; finding the culprit`,
    text: `build job ${cleanText(e.name, 64)} (job ${e.job}) failed on ${short(e.sha)}${onRetry}${e.reason ? `: ${cleanText(e.reason)}` : ''}. ${what}; stage waits.${lastLinesOf(e.tail)}\nFollow it: \`${cli} job list --push ${p.id}\`; log: ${logHint(job, e.job, { cli, code })}; stop it: \`${cli} job cancel ${starter}\``,
  };
}

/** A build job failed on a SHA the push no longer deploys: it gates nothing, so only the pushmaster hears it. */
function staleFailure(p: Push, e: EventOf<'JobFinished'>, cli: string): Notice {
  const now = p.deploySha === null ? `${pushName(p)} has no deploy branch now` : `${pushName(p)} deploys ${short(p.deploySha)} now`;
  return {
    id: `job-failed-${e.job}`,
    kind: 'job-failed',
    push: p,
    users: [p.pushmaster],
    subject: `Job failed: ${cleanText(e.name, 64)} on an old build of ${pushName(p)}`,
    text: `build job ${cleanText(e.name, 64)} (job ${e.job}) failed on ${short(e.sha)}${e.reason ? `: ${cleanText(e.reason)}` : ''}, which is not the deploy branch any more (${now}): it holds nothing back.\nLog: ${logHint(p.jobs?.find((j) => j.id === e.job), e.job, { cli, code })}; the jobs of the deploy branch: \`${cli} job list --push ${p.id}\``,
  };
}

/**
 * A build job the runner could not run (a builder the master does not have, no checkout of the SHA, a
 * command that cannot start): nobody's change is to blame, so only the pushmaster hears it, with the
 * runner's reason and that the gate (or the culprit search, for one of its runs) waits for a fix.
 */
function unrunJob(p: Push, job: Job, e: EventOf<'JobFinished'>, cli: string): Notice {
  const search = job.kind === 'bisect' && p.bisection?.candidates.some((c) => c.jobs.includes(job.id)) ? p.bisection : null;
  const then = search
    ? `${pushName(p)}'s culprit search stopped there, with nobody blamed. Fix it, then: \`${cli} job retry ${search.job}\` runs the build again (red again, it searches again)`
    : `Nobody's request is to blame and no culprit search starts; stage of ${pushName(p)} waits for it. Fix it, then: \`${cli} job retry ${e.job}\``;
  return {
    id: `job-failed-${e.job}`,
    kind: 'job-failed',
    push: p,
    users: [p.pushmaster],
    subject: `Job could not run: ${cleanText(e.name, 64)} on ${pushName(p)}`,
    text: `${job.on} job ${cleanText(e.name, 64)} (job ${e.job}) could not run on ${short(e.sha)}${e.reason ? `: ${cleanText(e.reason)}` : ''}.\n${then}`,
  };
}

/** What a bisection found: the culprit's owner (and a pair's partner) and the pushmaster hear it, with the log's last lines. */
function bisectionConcluded(e: EventOf<'BisectionConcluded'>, ctx: Ctx): Notice[] {
  const { board: b, cli } = ctx;
  const p = push(b, e.push);
  const search = p?.bisection;
  if (!p || !search) return [];
  const cand = e.proof ? search.candidates.find((c) => c.id === e.proof!.candidate) : undefined;
  const lastLines = lastLinesOf(cand?.tail);
  // An external CI keeps its jobs' logs: point to its run page, not to a `job log` the server refuses.
  const proofJob = e.proof ? p.jobs?.find((j) => j.id === e.proof!.job) : undefined;
  const log = !e.proof ? '' : `\nLog: ${logHint(proofJob, e.proof.job, { cli, code })}`;
  const jobName = cleanText(search.name, 64);
  switch (e.outcome) {
    case 'culprit':
    case 'pair': {
      const r = e.culprit === undefined ? undefined : req(b, e.culprit);
      if (!r) return [];
      const partner = e.partner === undefined ? undefined : req(b, e.partner);
      const removed = r.push !== p.id;
      const what = partner ? `${title(r)} (${cleanText(r.user, 64)}) breaks ${jobName} on ${pushName(p)} only together with ${title(partner)} (${cleanText(partner.user, 64)}); neither fails alone` : `${title(r)} (${cleanText(r.user, 64)}) breaks ${jobName} on ${pushName(p)}`;
      // With two accepting pushes a plain pickme goes to the first: name this one.
      const accepting = Object.values(b.pushes).filter((x) => x.state === 'accepting').length;
      const back = `To bring it back: fix it, push again to ${cleanText(r.ref, 200)}, then \`${cli} request pickme ${r.id}${accepting > 1 ? ` --push ${p.id}` : ''}\`.`;
      const rest = removed ? restVerdict(p, search, r.id) : null;
      const next = removed
        ? rest === 'failed'
          ? `It was removed from the push. The push still fails ${jobName} without it (another request breaks it too, or a flake): its build runs once more, and if it fails again the next search starts. ${back}`
          : rest === 'passed'
            ? `It was removed from the push. The push without it passed ${jobName} in the search, and that build is its deploy branch now: nothing to rebuild. ${back}`
            : `It was removed from the push, which is rebuilt and tested without it. ${back}`
        : `It is still in the push: the pushmaster decides (\`${cli} push remove ${p.id} ${r.id} --reason ...\`).`;
      return [{
        id: `bisection-${search.job}-${r.id}`,
        about: r.id,
        kind: 'job-failed',
        push: p,
        users: unique([r.user, ...r.watchers, ...(partner ? [partner.user] : []), p.pushmaster]),
        subject: `Breaks ${jobName}: ${title(r)}`,
        // The reason (the request's history) ends ", only together with request #3" for a pair: `what` said so.
        text: `Request ${what}: ${cleanText(e.reason.replace(/^breaks [^:]*: /, '').replace(/, only together with request #\d+$/, ''))}. Found in ${bisectionRuns(p)} run${bisectionRuns(p) === 1 ? '' : 's'}.\n${next}${lastLines}${log}`,
      }];
    }
    case 'master-red':
      return [{ id: `bisection-${search.job}-master`, kind: 'job-failed', push: p, users: [p.pushmaster], subject: `Master fails ${jobName}`, text: `Bisecting ${pushName(p)}: master alone fails ${jobName}, so no request is to blame; the push waits for master to be fixed.${lastLines}${log}` }];
    case 'green':
      return [{ id: `bisection-${search.job}-green`, kind: 'job-failed', push: p, users: [p.pushmaster], subject: `Green again: ${pushName(p)}`, text: `${jobName} passes on ${pushName(p)} again (${cleanText(e.reason)}); its bisection stopped with nobody blamed.` }];
    case 'cancelled':
      return [];
  }
}

/** The notices one event gives rise to. Events nobody needs to hear about give none. */
function noticesFor(e: DomainEvent, ctx: Ctx): Notice[] {
  const { board: b, cli } = ctx;
  const actor = cleanText(e.actor, 64);
  switch (e.type) {
    case 'PushOpened':
      return pushOpened(e, ctx);
    case 'RequestAccepted': {
      const r = req(b, e.request);
      const p = push(b, e.push);
      if (!r || !p) return [];
      return [{ id: 'accepted', kind: 'accepted', push: p, about: r.id, users: people(r), subject: `Accepted: ${title(r)}`, text: `Request ${title(r)} at ${short(r.sha)} was accepted into ${pushName(p)} by ${actor}.` }];
    }
    case 'RequestRemoved': {
      // A culprit removed by its bisection hears it once, from the conclusion (with the log's last lines).
      if (e.cause === 'pipeline') return [];
      const r = req(b, e.request);
      const p = push(b, e.push);
      if (!r || !p) return [];
      return [{ id: 'removed', kind: 'removed', push: p, about: r.id, users: people(r), subject: `Removed: ${title(r)}`, text: `Request ${title(r)} at ${short(r.sha)} was removed from ${pushName(p)} by ${actor}: ${cleanText(e.reason)}${removedNext(r, cli)}` }];
    }
    case 'ConflictsFound': {
      const r = req(b, e.request);
      if (!r || e.conflicts.length === 0) return [];
      const p = r.push === null ? undefined : push(b, r.push);
      const lines = e.conflicts.map((c) => describeConflict(c, b));
      return [{
        id: `conflict-${short(e.sha)}`,
        kind: 'conflict',
        about: r.id,
        push: p,
        users: people(r),
        subject: `Conflict: ${title(r)}`,
        text: `Request ${title(r)} at ${short(e.sha)} conflicts with ${lines.join('; ')}\nRebase or merge, then push again to ${cleanText(r.ref, 200)}.`,
      }];
    }
    case 'RequestUpdated': {
      const r = req(b, e.request);
      if (!r) return [];
      const p = r.push === null ? undefined : push(b, r.push);
      const inPush = p && IN_PUSH_STATES.includes(r.state);
      const users = without(unique([...people(r), ...(inPush ? [p.pushmaster] : [])]), doer(e));
      const rebuilt = p && MERGED_STATES.includes(r.state) ? `\nThe deploy branch of ${pushName(p)} is rebuilt.` : '';
      return [{ id: `updated-${short(e.sha)}`, kind: 'updated', push: p, about: r.id, users, subject: `Updated: ${title(r)}`, text: `Request ${title(r)} was updated by ${actor} to ${short(e.sha)}${e.forced ? ' (forced)' : ''}.${rebuilt}` }];
    }
    case 'RequestWithdrawn': {
      const r = req(b, e.request);
      if (!r) return [];
      const p = r.push === null ? undefined : push(b, r.push);
      const inPush = p && IN_PUSH_STATES.includes(e.fromState);
      const users = without(unique([...people(r), ...(inPush ? [p.pushmaster] : [])]), doer(e));
      return [{ id: 'withdrawn', kind: 'withdrawn', push: p, about: r.id, users, subject: `Withdrawn: ${title(r)}`, text: `Request ${title(r)} was withdrawn by ${actor}${inPush ? ` from ${pushName(p)}` : ''}.` }];
    }
    case 'PushStaged': {
      const p = push(b, e.push);
      if (!p) return [];
      const env = cleanText(e.env, 80);
      const verify: Notice[] = e.requests.flatMap((id) => {
        const r = req(b, id);
        if (!r) return [];
        return [{
          id: `staged-${id}`,
          kind: 'staged' as const,
          about: r.id,
          push: p,
          users: people(r),
          subject: `Please verify ${title(r)} at ${env}`,
          text: `Request ${title(r)} is on stage in ${pushName(p)}${at(p)}: please verify at ${env}.\nThen run \`${cli} request verify ${id}\``,
        }];
      });
      const ping: Notice[] = p.pingme.length
        ? [{ id: 'staged-pingme', kind: 'staged-pingme', push: p, users: unique(p.pingme), subject: `Pushed to stage: ${pushName(p)}`, text: `${pushName(p)} was pushed to stage ${env}.` }]
        : [];
      return [...verify, ...ping];
    }
    case 'AllVerified': {
      const p = push(b, e.push);
      if (!p) return [];
      return [{ id: 'all-verified', kind: 'all-verified', push: p, users: [p.pushmaster], subject: `All verified: ${pushName(p)}`, text: `All requests of ${pushName(p)} are verified on stage.\nNext: \`${cli} push bless ${p.id}\`` }];
    }
    case 'JobFinished': {
      // A failed gate: the pushmaster hears which job, why, how to read it and what it holds back.
      const p = push(b, e.push);
      const job = p?.jobs?.find((j) => j.id === e.job);
      // A stage or bless job's failure is told with the deploy it ended (DeployFailed); a build job
      // that is already being run again (retries) blames no one yet.
      if (p && job && job.on === 'build' && isUnrun(job)) return [unrunJob(p, job, e, cli)];
      // A certify job (an announcement, a cleanup) gates nothing, but its failure is the pushmaster's to know.
      if (p && job && e.state === 'failed' && job.on === 'certify') {
        return [{
          id: `job-failed-${e.job}`,
          kind: 'job-failed',
          push: p,
          users: [p.pushmaster],
          subject: `Certify job failed: ${cleanText(e.name, 64)} on ${pushName(p)}`,
          text: `certify job ${cleanText(e.name, 64)} (job ${e.job}) failed on ${short(e.sha)}${e.reason ? `: ${cleanText(e.reason)}` : ''}; ${pushName(p)} is ${p.state} all the same (certify jobs gate nothing).${lastLinesOf(e.tail)}\nLog: ${logHint(job, e.job, { cli, code })}`,
        }];
      }
      if (!p || !job || e.state !== 'failed' || job.on !== 'build' || job.kind === 'bisect') return [];
      if (runAgain(p.jobs ?? [], job)) return [];
      // A culprit search takes it over: the one it starts, or the running one a new deploy branch moved
      // (an accept, remove or re-push restarts it there; it keeps the job that started it). Either way
      // nobody is blamed yet, so only the pushmaster hears it.
      const search = p.bisection;
      if (search && (search.job === e.job || (search.state === 'running' && job.sha === p.deploySha) || search.finishedAt === e.at)) return [bisectionStarted(p, e, cli)];
      // A run on a SHA that is no longer the deploy branch (a retry of a replaced build) holds nothing
      // back: the pushmaster who ran it hears how it ended, and nobody is told that stage waits for it.
      if (job.sha !== p.deploySha) return [staleFailure(p, e, cli)];
      // The owners of the push's requests hear it too: one of their changes may be what broke the build.
      const owners = requestsInPush(b, p.id).filter((r) => MERGED_STATES.includes(r.state)).map((r) => r.user);
      const lastLines = lastLinesOf(e.tail);
      return [{
        id: `job-failed-${e.job}`,
        kind: 'job-failed',
        push: p,
        users: unique([p.pushmaster, ...owners]),
        subject: `Job failed: ${cleanText(e.name, 64)} on ${pushName(p)}`,
        text: `${job.on} job ${cleanText(e.name, 64)} (job ${e.job}) failed on ${short(e.sha)}${e.reason ? `: ${cleanText(e.reason)}` : ''}; stage of ${pushName(p)} waits for it.${lastLines}\nLog: ${logHint(job, e.job, { cli, code })}; retry: \`${cli} job retry ${e.job}\``,
      }];
    }
    case 'BisectionConcluded':
      return bisectionConcluded(e, ctx);
    case 'DeployFailed': {
      // The pushmaster asked for the step: they hear it did not happen, which job stopped it, and what next.
      const p = push(b, e.push);
      if (!p) return [];
      const where = e.step === 'stage' ? `stage of ${pushName(p)}${e.env ? ` to ${cleanText(e.env, 80)}` : ''}` : `bless (production deploy) of ${pushName(p)}`;
      // A bless that was forced (past unverified requests or red jobs) is refused unforced: the hint forces it again.
      const again = e.step === 'stage' ? `${cli} push stage ${p.id} --env ${e.env ? cleanText(e.env, 80) : 'ENV'}` : `${cli} push bless ${p.id}${e.forced ? ' --force --reason TEXT' : ''}`;
      return [{
        id: `deploy-failed-${e.job}`,
        kind: 'job-failed',
        push: p,
        users: [p.pushmaster],
        subject: `${e.step === 'stage' ? 'Stage' : 'Bless'} failed: ${cleanText(e.name, 64)} on ${pushName(p)}`,
        text: `The ${where} did not happen: ${e.step} job ${cleanText(e.name, 64)} (job ${e.job}) ${e.state}${e.reason ? `: ${cleanText(e.reason)}` : ''}. ${pushName(p)} is still ${p.state}.${lastLinesOf(e.tail)}\nLog: ${logHint(p.jobs?.find((j) => j.id === e.job), e.job, { cli, code })}; try again: \`${again}\``,
      }];
    }
    case 'PushBlessed': {
      const p = push(b, e.push);
      if (!p) return [];
      const inPush = Object.values(b.requests).filter((r) => r.push === p.id && MERGED_STATES.includes(r.state));
      const forced = e.forced && e.unverified.length ? ` (blessed without verification of ${e.unverified.map((id) => `#${id}`).join(', ')})` : '';
      const each: Notice[] = inPush.map((r) => ({
        id: `blessed-${r.id}`,
        kind: 'blessed',
        about: r.id,
        push: p,
        users: people(r),
        subject: `In production: ${title(r)}`,
        text: `${pushName(p)}${at(p)} with request ${title(r)} is going to production${forced}.`,
      }));
      const ping: Notice[] = p.pingme.length
        ? [{ id: 'blessed-pingme', kind: 'blessed-pingme', push: p, users: unique(p.pingme), subject: `Pushed to production: ${pushName(p)}`, text: `${pushName(p)} was pushed to production${forced}.` }]
        : [];
      return [...each, ...ping];
    }
    case 'PushCertified': {
      const p = push(b, e.push);
      if (!p) return [];
      return e.requests.flatMap((id) => {
        const r = req(b, id);
        if (!r) return [];
        return [{ id: `certified-${id}`, kind: 'certified' as const, push: p, about: r.id, users: people(r), subject: `Live: ${title(r)}`, text: `Request ${title(r)} is live: ${pushName(p)} was certified (tag ${cleanText(e.tag, 120)}, master at ${short(e.masterSha)}).` }];
      });
    }
    case 'PushDiscarded': {
      const p = push(b, e.push);
      if (!p) return [];
      return e.returned.flatMap((id) => {
        const r = req(b, id);
        if (!r) return [];
        return [{
          id: `push-discarded-${id}`,
          kind: 'push-discarded' as const,
          about: r.id,
          push: p,
          users: people(r),
          subject: `Push discarded: ${pushName(p)}`,
          text: `${pushName(p)} was discarded by ${actor}${e.reason ? `: ${cleanText(e.reason)}` : '.'}\nRequest ${title(r)} is back to requested.`,
        }];
      });
    }
    case 'RequestDelayed': {
      const r = req(b, e.request);
      if (!r) return [];
      return [{ id: 'delayed', kind: 'delayed', about: r.id, users: without(people(r), doer(e)), subject: `Delayed: ${title(r)}`, text: `Request ${title(r)} was delayed by ${actor}${e.reason ? `: ${cleanText(e.reason)}` : '.'}\nUndelay: \`${cli} request undelay ${r.id}\`` }];
    }
    case 'RequestDiscarded': {
      const r = req(b, e.request);
      if (!r) return [];
      return [{ id: 'discarded', kind: 'discarded', about: r.id, users: without(people(r), doer(e)), subject: `Discarded: ${title(r)}`, text: `Request ${title(r)} was discarded by ${actor}${e.reason ? `: ${cleanText(e.reason)}` : '.'}` }];
    }
    case 'CommentAdded': {
      const r = req(b, e.request);
      if (!r) return [];
      const p = r.push === null ? undefined : push(b, r.push);
      const author = e.comment.user;
      return [{
        id: `comment-${cleanText(e.comment.at, 40)}`,
        kind: 'comment',
        about: r.id,
        push: p,
        users: without(people(r), author),
        subject: `Comment on ${title(r)}`,
        text: `${cleanText(author, 64)} commented on request ${title(r)}: ${cleanText(e.comment.text)}`,
      }];
    }
    case 'PushMessageSent': {
      const p = push(b, e.push);
      if (!p) return [];
      // The pushees are the people of the requests accepted into the push (added to blessed): a
      // pickme is only offered to it, and hears a message only when it names that state (--state pickme).
      const targets = requestsInPush(b, p.id).filter((r) => (e.state === null ? MERGED_STATES.includes(r.state) : r.state === e.state));
      const users = unique(targets.flatMap(people));
      const prefix = `[[pushmaster ${cleanText(p.pushmaster, 64)}]] `;
      const text = cleanText(e.text);
      return [{
        id: 'message',
        kind: 'pushmaster-message',
        push: p,
        users,
        subject: `Message from the pushmaster of ${pushName(p)}`,
        text: `${prefix}${text}`,
        ircLines: (nick) => groupLines(users.map(nick), text, prefix),
      }];
    }
    default:
      // Picks, verifications, edits, builds, checklist ticks: visible on the board, not worth a ping.
      return [];
  }
}

function pushOpened(e: EventOf<'PushOpened'>, { board: b, cli }: Ctx): Notice[] {
  const p = b.pushes[e.push.id] ?? e.push;
  // Requests that may join this push: still waiting, or already picked into it in the same commit.
  const candidates = Object.values(b.requests)
    .filter((r) => r.state === 'requested' || (r.state === 'pickme' && r.push === p.id))
    .filter((r) => p.type !== 'urgent' || r.tags.includes('urgent'))
    .sort((x, y) => x.id - y.id);
  const personal = p.type === 'regular' || p.type === 'urgent';
  const users = personal ? unique(candidates.flatMap(people)) : [];
  const headline = `${pushName(p)} (${p.type}) is open, pushmaster ${cleanText(p.pushmaster, 64)}.`;
  const how = `Pick your request: \`${cli} request pickme ID\``;
  // With another push accepting too, a plain pickme goes to the first: name this one.
  const onThis = Object.values(b.pushes).some((x) => x.id !== p.id && x.state === 'accepting') ? ` --push ${p.id}` : '';
  // A personal message can say the reader's own commands (the channel line speaks to everyone at once).
  const textFor = (u: UserName): string => {
    const theirs = candidates.filter((r) => people(r).includes(u));
    const waiting = theirs.filter((r) => r.state === 'requested');
    const picked = theirs.filter((r) => r.state === 'pickme');
    const lines = [headline];
    if (waiting.length) lines.push(`Pick your request${waiting.length > 1 ? 's' : ''}: ${waiting.map((r) => code(`${cli} request pickme ${r.id}${onThis}`)).join(', ')}`);
    // Picked automatically when the push opened (auto-pickme): nothing to run, and "pick" would mislead.
    if (picked.length) lines.push(`Already a pickme of it: ${picked.map((r) => `#${r.id}`).join(', ')}.`);
    return lines.length > 1 ? lines.join('\n') : `${headline}\n${how}`;
  };
  return [{
    id: 'push-opened',
    kind: 'push-opened',
    push: p,
    users,
    emailUsers: [],
    subject: `Push open: ${pushName(p)} (${p.type})`,
    text: personal ? `${headline}\n${how}` : headline,
    ...(personal ? { textFor } : {}),
    ircLines: (nick) => (users.length ? [headline, ...groupLines(users.map(nick), how)] : [headline]),
  }];
}

// ---- fan-out to channels and addresses ----

const nickOf = (cfg: RoutingConfig) => (u: UserName) => cleanText(cfg.aliases?.[u]?.irc ?? u, 64);

function emailOf(cfg: RoutingConfig, u: UserName): string | null {
  const a = cfg.aliases?.[u]?.email;
  if (a) return a;
  if (u.includes('@')) return u;
  return cfg.mailDomain ? `${u}@${cfg.mailDomain}` : null;
}

function jidOf(cfg: RoutingConfig, u: UserName): string | null {
  const a = cfg.aliases?.[u]?.xmpp;
  if (a) return a;
  if (u.includes('@')) return u;
  return cfg.xmppDomain ? `${u}@${cfg.xmppDomain}` : null;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A clean HTML part: one paragraph a line, commands in `code`. The text is already free of control characters. */
function toHtml(text: string): string {
  const paras = text.split('\n').map((line) => `<p>${escapeHtml(line).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`);
  return `<!doctype html><html><body>${paras.join('')}</body></html>`;
}

/** The channels a notice goes to: its configured route among the enabled channels; log always when enabled. */
export function channelsFor(kind: NoticeKind, cfg: RoutingConfig): Channel[] {
  const enabled: readonly Channel[] = cfg.channels.length ? cfg.channels : ['log'];
  const routed = cfg.routes?.[kind] ?? DEFAULT_ROUTES[kind];
  return enabled.filter((ch) => ch === 'log' || routed.includes(ch));
}

function fanOut(n: Notice, prefix: string, cfg: RoutingConfig): Delivery[] {
  const base = `${prefix}:${n.id}`;
  const pushmaster = n.push?.pushmaster;
  const extra = pushmaster === undefined ? {} : { pushmaster };
  const thread = n.about !== undefined ? `request-${n.about}` : n.push ? `push-${n.push.id}` : undefined;
  const threaded = thread === undefined ? {} : { thread };
  const out: Delivery[] = [];
  const redirected = (to: readonly string[]) => `(notify-only; for: ${to.length ? to.join(', ') : 'nobody'})\n`;
  for (const ch of channelsFor(n.kind, cfg)) {
    switch (ch) {
      case 'log':
        out.push({ key: `${base}:log:*`, channel: 'log', to: n.users, subject: n.subject, text: n.text, ...extra });
        break;
      case 'irc': {
        if (!cfg.ircChannel) break;
        const lines = n.ircLines ? n.ircLines(nickOf(cfg)) : ircLinesOf(n).flatMap((l) => groupLines(n.users.map(nickOf(cfg)), l)).map((l) => fitIrc(l));
        out.push({ key: `${base}:irc:${cfg.ircChannel}`, channel: 'irc', to: [cfg.ircChannel], text: lines.join('\n'), ...extra });
        break;
      }
      case 'xmpp': {
        const jids = unique(n.users.map((u) => jidOf(cfg, u)).filter((j): j is string => j !== null));
        const only = cfg.notifyOnly?.xmpp;
        if (only) {
          if (jids.length) for (const j of unique(only)) out.push({ key: `${base}:xmpp:${j}`, channel: 'xmpp', to: [j], text: redirected(jids) + n.text, ...extra });
        } else {
          const textOf = new Map<string, string>();
          for (const u of n.users) {
            const j = jidOf(cfg, u);
            if (j !== null && !textOf.has(j)) textOf.set(j, n.textFor ? n.textFor(u) : n.text);
          }
          for (const j of jids) out.push({ key: `${base}:xmpp:${j}`, channel: 'xmpp', to: [j], text: textOf.get(j) ?? n.text, ...extra });
        }
        break;
      }
      case 'email': {
        const prefixS = cfg.subjectPrefix ?? '[pushmanager]';
        const subject = `${prefixS} ${n.subject}`;
        const addrs = unique((n.emailUsers ?? n.users).map((u) => emailOf(cfg, u)).filter((a): a is string => a !== null));
        const all = unique(cfg.notifyAll ?? []);
        const only = cfg.notifyOnly?.email;
        const mail = (key: string, to: string, subj: string, text: string): Delivery => ({ key, channel: 'email', to: [to], subject: subj, text, html: toHtml(text), ...threaded, ...extra });
        if (only) {
          if (addrs.length) for (const a of unique(only)) out.push(mail(`${base}:email:${a}`, a, subject, redirected(addrs) + n.text));
          if (all.length) for (const a of unique(only)) out.push(mail(`${base}:email:all:${a}`, a, `[all] ${subject}`, redirected(all) + n.text));
        } else {
          for (const a of addrs) out.push(mail(`${base}:email:${a}`, a, subject, n.text));
          for (const a of all) out.push(mail(`${base}:email:all:${a}`, a, `[all] ${subject}`, n.text));
        }
        break;
      }
    }
  }
  return out;
}

/**
 * The deliveries for one event. `board` is the board after the event's commit; `keyPrefix`
 * identifies the event (the integrator uses `<metadata commit sha>:<event index>`), so keys are
 * unique and stable and the outbox can send each delivery once.
 */
export function routeEvent(event: DomainEvent, board: Board, cfg: RoutingConfig, keyPrefix = `${event.type}@${event.at}`): Delivery[] {
  const ctx: Ctx = { board, cli: cfg.cli ?? 'pushmanager' };
  return noticesFor(event, ctx).flatMap((n) => fanOut(n, keyPrefix, cfg));
}

/** All deliveries of one metadata commit: each event keyed by the commit SHA and its index. */
export function routeCommit(sha: string, events: readonly DomainEvent[], board: Board, cfg: RoutingConfig): Delivery[] {
  return events.flatMap((e, i) => routeEvent(e, board, cfg, `${sha}:${i}`));
}
