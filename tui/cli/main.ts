#!/usr/bin/env node
// `pushmanager`: the server (`serve`) and every client verb of SPEC §5. Exit codes: 0 success,
// 1 refused by the server (reason on stderr), 2 usage error.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { describeError } from '../../state/errors.js';
import { IN_PUSH_STATE_NAMES, PUSH_TYPES } from '../../state/model.js';
import { CredentialsRefused, NoCredentials, PushmanagerClient, ServerRefusal, ServerUnreachable, clientOptionsFromEnv } from '../client.js';
import type { ApiCommandInput } from '../../state/wire.js';
import { answerSentence } from '../../state/describe.js';
import { renderJob, renderJobs, renderPush, renderRequest, renderStatus } from './render.js';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;

const positiveId = (what: string) => (v: string) => {
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) === 0) throw new InvalidArgumentError(`A ${what} id is a positive number.`);
  return Number(v);
};
interface Json {
  readonly json?: boolean;
}
const isServerUrl = (v: string): boolean => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
};
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildProgram(io: { out: (s: string) => void; err: (s: string) => void; env: NodeJS.ProcessEnv }): Command {
  const program = new Command('pushmanager')
    .description('Git-native deploy trains: push requests over git, a pushmaster drives each push.')
    .version(version())
    .option('--server <url>', 'server URL (env PUSHMANAGER_SERVER, default http://127.0.0.1:7080)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  /**
   * Client options from --server and the environment, checked before anything is sent: a server that is
   * not an http(s) URL is a usage error naming where it came from, and a user without a password (or a
   * password without a user) is said as such, not sent as an empty password that the server counts as a
   * wrong guess.
   */
  const clientOptions = (stored = true) => {
    const flag = program.opts<{ server?: string }>().server;
    const url = flag ?? io.env.PUSHMANAGER_SERVER;
    if (url !== undefined && !isServerUrl(url))
      program.error(`pushmanager: ${flag !== undefined ? '--server' : 'PUSHMANAGER_SERVER'}: "${url}" is not a server URL; expected e.g. http://127.0.0.1:7080`, { exitCode: EXIT_USAGE, code: 'server-url-invalid' });
    return clientOptionsFromEnv(io.env, flag, { stored });
  };
  const halfCredentials = (): string | null => {
    if (io.env.PUSHMANAGER_TOKEN) return null;
    const { PUSHMANAGER_USER: user, PUSHMANAGER_PASSWORD: password } = io.env;
    if (user && password === undefined) return `PUSHMANAGER_USER is set (${user}) but PUSHMANAGER_PASSWORD is not: set it too, or use PUSHMANAGER_TOKEN or \`pushmanager login\``;
    if (!user && password !== undefined) return 'PUSHMANAGER_PASSWORD is set but PUSHMANAGER_USER is not: set the user name too';
    return null;
  };
  const client = () => {
    const opts = clientOptions();
    const half = halfCredentials();
    if (half) throw new NoCredentials(half);
    return new PushmanagerClient(opts);
  };
  /** Sends a command and prints what it did: a sentence with the ids and SHAs needed next, or the JSON answer. */
  const answer = async (cmd: ApiCommandInput, o: Json): Promise<void> => {
    const a = await client().command(cmd);
    io.out(o.json ? JSON.stringify(a, null, 2) + '\n' : `${answerSentence(cmd, a)}\n`);
  };

  program
    .command('serve')
    .description('run the server (git remote, API, hooks) on the config file')
    .option('--config <file>', 'config file (default: the embedded pushmanager.config.yaml)')
    .option('--port <n>', 'port to listen on', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`port must be 0..65535, got "${v}"`);
      return n;
    })
    .option('--host <address>', 'address to listen on')
    .option('--data <dir>', 'data directory')
    .action(async (o: { config?: string; port?: number; host?: string; data?: string }) => {
      const { serve } = await import('./serve.js');
      await serve({ configPath: o.config, port: o.port, host: o.host, dataDir: o.data }, io);
    });

  program
    .command('status')
    .description('show the board: open pushes, their requests, what is waiting')
    .option('--json', 'print one JSON object: pushes, requests (state, SHA, tags, conflicts) and the actions you may take')
    .option('--all', 'include every finished push and request')
    .action(async (o: { json?: boolean; all?: boolean }) => {
      const board = await client().board(o.all);
      io.out(o.json ? JSON.stringify(board, null, 2) + '\n' : renderStatus(board));
    });

  program
    .command('tui')
    .description("the pushmaster's live dashboard (prints the board once when not on a terminal)")
    .action(async () => {
      // Ink renders only the last frame when it thinks it runs in CI (CI=true). A person at a real
      // terminal wants the live board whatever their shell exports, so say "not CI" before Ink loads.
      if (process.stdout.isTTY && process.stdin.isTTY) {
        process.env.CI = 'false';
        process.env.CONTINUOUS_INTEGRATION = 'false';
      }
      const { runDashboard } = await import('../dashboard/run.js');
      await runDashboard(clientOptions(), io);
    });

  program
    .command('login')
    .description('get an API token with your password and store it for later commands (asks on a terminal, else PUSHMANAGER_USER/PASSWORD)')
    .option('--label <text>', 'what the token is for', 'pushmanager CLI')
    .option('--print', 'print the token instead of storing it')
    .action(async (o: { label: string; print?: boolean }) => {
      const { terminalPrompt, withCredentials } = await import('../credential-prompt.js');
      // Not the stored token: logging in again (another user, a token about to expire) asks for a password.
      const opts = clientOptions(false);
      const prompt = terminalPrompt();
      const half = halfCredentials();
      if (!prompt && half) throw new NoCredentials(half);
      if (!prompt && opts.token === undefined && opts.user === undefined)
        throw new NoCredentials('no credentials: set PUSHMANAGER_USER and PUSHMANAGER_PASSWORD, or run `pushmanager login` on a terminal (it asks)');
      const { result: t, options } = await withCredentials(opts, prompt, (c) => new PushmanagerClient(c).login(o.label));
      if (o.print) io.out(`${t.token}\n`);
      else {
        const { storeToken } = await import('../credentials.js');
        const file = storeToken(options.server, t, io.env);
        // What the server takes this user for (a pushmaster? an admin?): the role decides what the next verbs may do.
        const me = await new PushmanagerClient({ server: options.server, token: t.token }).whoami().then((w) => w.user, () => null);
        const role = me ? ` (${[me.pushmaster && 'pushmaster', me.admin && 'admin'].filter(Boolean).join(', ') || 'pushee: no pushmaster rights'})` : '';
        io.out(`logged in as ${t.user}${role}; token stored in ${file} (expires ${t.expiresAt}). Git accepts it as the password too.\n`);
      }
    });

  program
    .command('outbox')
    .description('notifications not yet delivered: pending and failed, with the last error (pushmasters)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { entries } = await client().outbox();
      if (o.json) return io.out(JSON.stringify(entries, null, 2) + '\n');
      if (!entries.length) return io.out('outbox empty: every notification was delivered\n');
      for (const e of entries)
        io.out(`${e.status.padEnd(8)} ${e.delivery.channel.padEnd(6)} to ${e.delivery.to.join(', ')}  attempts ${e.attempts}${e.lastError ? `  last error: ${e.lastError}` : ''}\n    ${e.delivery.text.split('\n')[0]}\n`);
    });

  program
    .command('hash-password')
    .description('read a password on stdin and print its scrypt hash for auth.users[].passwordHash')
    .action(async () => {
      const { runHashPassword } = await import('../../server/auth/local-directory.js');
      process.exitCode = await runHashPassword(process);
    });

  // ---- push verbs (pushmasters) ----
  // Ids are parsed by commander, so a bad one is a usage error printed with the command's usage line.
  const pushArg = (c: Command) => c.argument('<push>', 'push id', positiveId('push'));
  const requestArg = (c: Command) => c.argument('<request>', 'request id', positiveId('request'));
  const push = program.command('push').description('drive a push: open, accept, remove, rebuild, stage, verify, bless, certify, discard, message, pingme, takeover, tick, show');
  const verb = (parent: Command, name: string, description: string) => parent.command(name).description(description).option('--json', 'print the result as JSON: events, and the pushes and requests as they are now');

  verb(push, 'open', 'open a push (pushmasters)')
    .requiredOption('--title <title>', 'e.g. "Tue 14:00"')
    .addOption(new Option('--type <type>', 'push type').choices([...PUSH_TYPES]).default('regular'))
    .action((o: Json & { title: string; type: string }) => answer({ type: 'OpenPush', title: o.title, pushType: o.type as (typeof PUSH_TYPES)[number] }, o));
  pushArg(verb(push, 'accept', 'accept pickmes into the push; rebuilds its deploy branch'))
    .argument('<requests...>', 'request ids', (v: string, prev: number[] = []) => [...prev, positiveId('request')(v)])
    .action((p: number, requests: number[], o: Json) => answer({ type: 'AcceptRequests', push: p, requests }, o));
  requestArg(pushArg(verb(push, 'remove', 'take a request out of the push (logged with the reason); rebuilds')))
    .requiredOption('--reason <text>', 'why, for the owner and the log')
    .action((p: number, r: number, o: Json & { reason: string }) => answer({ type: 'RemoveRequest', push: p, request: r, reason: o.reason }, o));
  pushArg(verb(push, 'rebuild', 'rebuild the deploy branch and re-run conflict checks')).action((p: number, o: Json) => answer({ type: 'RebuildPush', push: p }, o));
  pushArg(verb(push, 'stage', 'mark the accepted requests staged on a stage environment (refused while a build job of the deploy SHA is not green)'))
    .requiredOption('--env <name>', 'stage environment, e.g. stage-a')
    .option('--force', 'stage past red build jobs (recorded with --reason)')
    .option('--reason <text>', 'why a forced stage is safe: recorded on the push')
    .action((p: number, o: Json & { env: string; force?: boolean; reason?: string }) => answer({ type: 'StagePush', push: p, env: o.env, ...(o.force && { force: true }), ...(o.reason && { reason: o.reason }) }, o));
  pushArg(verb(push, 'verify', 'verify every staged request of the push you own or watch')).action((p: number, o: Json) => answer({ type: 'VerifyPush', push: p }, o));
  pushArg(verb(push, 'bless', 'send the push to production (refused while a staged request is unverified)'))
    .option('--force', 'bless even with unverified requests or red jobs (logged)')
    .option('--reason <text>', 'why a forced bless is safe (needed past red jobs): recorded on the push')
    .action((p: number, o: Json & { force?: boolean; reason?: string }) => answer({ type: 'BlessPush', push: p, force: !!o.force, ...(o.reason && { reason: o.reason }) }, o));
  pushArg(verb(push, 'certify', 'master := deploy branch, tag it, requests go live'))
    .option('--force', 'certify with open checklist items (logged)')
    .action((p: number, o: Json & { force?: boolean }) => answer({ type: 'CertifyPush', push: p, force: !!o.force }, o));
  pushArg(verb(push, 'discard', 'discard the push; its requests wait again'))
    .option('--reason <text>', 'why, told to the owners and watchers of its requests')
    .action((p: number, o: Json & { reason?: string }) => answer({ type: 'DiscardPush', push: p, ...(o.reason && { reason: o.reason }) }, o));
  pushArg(verb(push, 'message', 'message the pushees of the push: owners and watchers of the requests accepted into it (added to blessed); pickmes only with --state pickme'))
    .argument('<text...>', 'the message')
    .addOption(new Option('--state <state>', 'only requests in this state (--state pickme: the pickmes, which a plain message does not reach)').choices([...IN_PUSH_STATE_NAMES]))
    .action((p: number, text: string[], o: Json & { state?: string }) => answer({ type: 'MessagePushees', push: p, text: text.join(' '), ...(o.state && { state: o.state as 'staged' }) }, o));
  pushArg(verb(push, 'pingme', 'be notified when the push is staged and blessed'))
    .option('--off', 'stop being notified')
    .action((p: number, o: Json & { off?: boolean }) => answer({ type: 'PingmePush', push: p, on: !o.off }, o));
  pushArg(verb(push, 'takeover', 'become the pushmaster of the push')).action((p: number, o: Json) => answer({ type: 'TakeOverPush', push: p }, o));
  pushArg(verb(push, 'tick', 'tick a checklist item of the push'))
    .argument('<item>', 'checklist item id (pushmanager status lists them)')
    .option('--undo', 'untick it')
    .action((p: number, item: string, o: Json & { undo?: boolean }) => answer({ type: 'TickChecklist', push: p, item, done: !o.undo }, o));
  pushArg(push.command('show').description('one push with its removals and history')).action(async (p: number) => io.out(renderPush(await client().pushDetail(p))));

  // ---- job verbs (pipeline jobs, SPEC §6) ----
  const jobArg = (c: Command) =>
    c.argument('<id>', 'job id, e.g. 3.1 (pushmanager job list shows them)', (v: string) => {
      if (!/^[0-9]{1,9}\.[0-9]{1,9}$/.test(v)) throw new InvalidArgumentError('A job id looks like 3.1: push 3, its first job.');
      return v;
    });
  const job = program.command('job').description("the train's pipeline jobs: list, show, log, retry, cancel, report");
  job
    .command('list')
    .description('jobs of the open pushes, or of one push')
    .option('--push <id>', 'only this push', positiveId('push'))
    .option('--json', 'print JSON (the jobs as status --json carries them)')
    .action(async (o: Json & { push?: number }) => {
      const { jobs } = await client().jobs(o.push);
      io.out(o.json ? JSON.stringify(jobs, null, 2) + '\n' : renderJobs(jobs));
    });
  jobArg(job.command('show').description('one job: what it runs, its state, times, exit code'))
    .option('--json', 'print JSON')
    .action(async (id: string, o: Json) => {
      const j = await client().job(id);
      io.out(o.json ? JSON.stringify(j, null, 2) + '\n' : renderJob(j));
    });
  jobArg(job.command('log').description("a job's output (with --follow: live, until the job ends)"))
    .option('--follow', 'keep printing until the job ends')
    .action((id: string, o: { follow?: boolean }) => client().jobLog(id, !!o.follow, io.out));
  jobArg(verb(job, 'retry', 'run a failed, cancelled or interrupted job again (a new job, one attempt later)')).action((id: string, o: Json) => answer({ type: 'RetryJob', job: id }, o));
  jobArg(verb(job, 'cancel', 'stop a queued or running job (its process group is killed)'))
    .option('--reason <text>', 'why, recorded with the job')
    .action((id: string, o: Json & { reason?: string }) => answer({ type: 'CancelJob', job: id, ...(o.reason && { reason: o.reason }) }, o));
  jobArg(verb(job, 'report', "an external CI's result for a job (runner: external; users with the ci role)"))
    .addOption(new Option('--state <state>', 'how the job ended').choices(['passed', 'failed']).makeOptionMandatory())
    .option('--url <url>', "the CI run's page, shown with the job")
    .action((id: string, o: Json & { state: 'passed' | 'failed'; url?: string }) => answer({ type: 'ReportJob', job: id, state: o.state, ...(o.url && { url: o.url }) }, o));

  // ---- request verbs (pushees) ----
  const request = program.command('request').description('one push request: show, pickme, unpickme, verify, delay, undelay, discard, comment, edit');
  const idArg = (c: Command) => c.argument('<id>', 'request id', positiveId('request'));
  idArg(request.command('show').description('one request with its history (from the metadata branch)')).action(async (id: number) => io.out(renderRequest(await client().requestDetail(id))));
  idArg(verb(request, 'pickme', 'offer the request to the accepting push'))
    .option('--push <id>', 'a specific push', positiveId('push'))
    .action((id: number, o: Json & { push?: number }) => answer({ type: 'PickmeRequest', request: id, ...(o.push && { push: o.push }) }, o));
  idArg(verb(request, 'unpickme', 'take the request back out of the push')).action((id: number, o: Json) => answer({ type: 'UnpickmeRequest', request: id }, o));
  idArg(verb(request, 'verify', 'confirm the change works on stage')).action((id: number, o: Json) => answer({ type: 'VerifyRequest', request: id }, o));
  idArg(verb(request, 'delay', 'hold the request back from pushes'))
    .option('--reason <text>', 'why, told to its owner and watchers')
    .action((id: number, o: Json & { reason?: string }) => answer({ type: 'DelayRequest', request: id, ...(o.reason && { reason: o.reason }) }, o));
  idArg(verb(request, 'undelay', 'let the request wait for a push again')).action((id: number, o: Json) => answer({ type: 'UndelayRequest', request: id }, o));
  idArg(verb(request, 'discard', 'drop the request for good'))
    .option('--reason <text>', 'why, told to its owner and watchers')
    .action((id: number, o: Json & { reason?: string }) => answer({ type: 'DiscardRequest', request: id, ...(o.reason && { reason: o.reason }) }, o));
  idArg(verb(request, 'comment', 'comment on the request'))
    .argument('<text...>', 'the comment')
    .action((id: number, text: string[], o: Json) => answer({ type: 'CommentRequest', request: id, text: text.join(' ') }, o));
  idArg(verb(request, 'edit', 'change title, description, tags, watchers, review or ticket'))
    .option('--title <text>', 'one line, at most 200 characters')
    .option('--description <text>', 'free text, several lines allowed')
    .option('--tags <list>', 'comma-separated; replaces your tags', list)
    .option('--watchers <list>', 'comma-separated user names', list)
    .option('--review <id>', 'Reviewboard review number')
    .option('--ticket <key>', 'JIRA key (WEB-42) or Trac ticket number')
    .action((id: number, o: Json & Record<string, unknown>, cmd: Command) => {
      const { json, ...fields } = o;
      // Nothing to change is a usage error, not a refusal that says "already has those values".
      if (!Object.keys(fields).length) cmd.error('error: nothing to change: give at least one of --title, --description, --tags, --watchers, --review, --ticket', { exitCode: EXIT_USAGE, code: 'nothing-to-edit' });
      return answer({ type: 'EditRequest', request: id, ...(fields as { title?: string }) }, { json: json as boolean | undefined });
    });

  // A usage error prints commander's message, then this command's usage line and where to read more (as gh does).
  const withUsage = (c: Command, path: string[]): void => {
    const name = [...path, c.name()].join(' ');
    c.showHelpAfterError(`Usage: ${name} ${c.usage()}\nRun "${name} --help" for more.`);
    for (const sub of c.commands) withUsage(sub, [...path, c.name()]);
  };
  withUsage(program, []);

  return program;
}

export async function main(argv: string[], io = { out: (s: string) => void process.stdout.write(s), err: (s: string) => void process.stderr.write(s), env: process.env }): Promise<number> {
  // Commander prints its own usage errors; one raised where it does not (inside an action) must not end silently.
  let wroteErr = false;
  const program = buildProgram({ ...io, err: (s) => ((wroteErr = true), io.err(s)) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT_OK;
      if (!wroteErr) io.err(`${e.message}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CredentialsRefused) {
      // Said once, as is: the same credentials would be refused again (and count as guesses).
      io.err(`pushmanager: ${e.message}\n`);
      return EXIT_REFUSED;
    }
    if (e instanceof ServerRefusal) {
      io.err(`pushmanager: refused: ${describeError(e)}\n`);
      return EXIT_REFUSED;
    }
    if (e instanceof ServerUnreachable) {
      io.err(`pushmanager: ${e.message}\n`);
      return EXIT_REFUSED;
    }
    const err = e as Error & { code?: string };
    io.err(`pushmanager: ${typeof err.code === 'string' ? describeError({ message: err.message, code: err.code }) : err.message}\n`);
    return EXIT_REFUSED;
  }
}

// Run when executed as the binary (not when imported by tests).
const invoked = process.argv[1] ? new URL(`file://${process.argv[1]}`).pathname : '';
if (invoked.endsWith('/tui/cli/main.js') || invoked.endsWith('/tui/cli/main.ts') || invoked.endsWith('/pushmanager')) {
  main(process.argv.slice(2)).then((code) => {
    // A `serve` that failed to start may have left a timer or watcher behind: exit, never hang.
    if (code !== EXIT_OK && process.argv.includes('serve')) process.exit(code);
    if (code !== EXIT_OK || !process.argv.includes('serve')) process.exitCode = code;
  });
}
