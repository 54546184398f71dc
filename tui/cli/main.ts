#!/usr/bin/env node
// `pushmanager`: the server (`serve`) and every client verb of SPEC §5. Exit codes: 0 success,
// 1 refused by the server (reason on stderr), 2 usage error.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { PUSH_TYPES } from '../../state/model.js';
import { CredentialsRefused, PushmanagerClient, ServerRefusal, ServerUnreachable, clientOptionsFromEnv } from '../client.js';
import { renderPush, renderRequest, renderStatus } from './render.js';

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;

const positiveId = (what: string) => (v: string) => {
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) === 0) throw new InvalidArgumentError(`${what} must be a positive number, got "${v}"`);
  return Number(v);
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

  const client = () => new PushmanagerClient(clientOptionsFromEnv(io.env, program.opts<{ server?: string }>().server));
  const done = (what: string) => (r: { events: string[] }) => io.out(`${what}${r.events.length ? ` (${r.events.join(', ')})` : ' (nothing changed)'}\n`);

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
    .option('--json', 'print one JSON object (SPEC §5 fields)')
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
      await runDashboard(clientOptionsFromEnv(io.env, program.opts<{ server?: string }>().server), io);
    });

  program
    .command('login')
    .description('get an API token with your password and store it for later commands (asks on a terminal, else PUSHMANAGER_USER/PASSWORD)')
    .option('--label <text>', 'what the token is for', 'pushmanager CLI')
    .option('--print', 'print the token instead of storing it')
    .action(async (o: { label: string; print?: boolean }) => {
      const { terminalPrompt, withCredentials } = await import('../credential-prompt.js');
      // Not the stored token: logging in again (another user, a token about to expire) asks for a password.
      const opts = clientOptionsFromEnv(io.env, program.opts<{ server?: string }>().server, { stored: false });
      const prompt = terminalPrompt();
      if (!prompt && opts.token === undefined && opts.user === undefined)
        throw Object.assign(new Error('no credentials: set PUSHMANAGER_USER and PUSHMANAGER_PASSWORD, or run `pushmanager login` on a terminal (it asks)'), { code: 'no-credentials' });
      const { result: t, options } = await withCredentials(opts, prompt, (c) => new PushmanagerClient(c).login(o.label));
      if (o.print) io.out(`${t.token}\n`);
      else {
        const { storeToken } = await import('../credentials.js');
        const file = storeToken(options.server, t, io.env);
        io.out(`logged in as ${t.user}; token stored in ${file} (expires ${t.expiresAt}). Git accepts it as the password too.\n`);
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
  const push = program.command('push').description('drive a push: open, accept, remove, rebuild, stage, verify, bless, certify, discard, message, pingme');
  push
    .command('open')
    .description('open a push (pushmasters)')
    .requiredOption('--title <title>', 'e.g. "Tue 14:00"')
    .addOption(new Option('--type <type>', 'push type').choices([...PUSH_TYPES]).default('regular'))
    .action(async (o: { title: string; type: string }) => done('push opened')(await client().command({ type: 'OpenPush', title: o.title, pushType: o.type as (typeof PUSH_TYPES)[number] })));
  push
    .command('accept <push> <requests...>')
    .description('accept pickmes into the push; rebuilds its deploy branch')
    .action(async (p: string, rs: string[]) =>
      done('accepted')(await client().command({ type: 'AcceptRequests', push: positiveId('push')(p), requests: rs.map(positiveId('request')) })),
    );
  push
    .command('remove <push> <request>')
    .description('take a request out of the push (logged with the reason); rebuilds')
    .requiredOption('--reason <text>', 'why, for the owner and the log')
    .action(async (p: string, r: string, o: { reason: string }) =>
      done('removed')(await client().command({ type: 'RemoveRequest', push: positiveId('push')(p), request: positiveId('request')(r), reason: o.reason })),
    );
  push.command('rebuild <push>').description('rebuild the deploy branch and re-run conflict checks').action(async (p: string) => done('rebuilt')(await client().command({ type: 'RebuildPush', push: positiveId('push')(p) })));
  push
    .command('stage <push>')
    .description('mark the accepted requests staged on a stage environment')
    .requiredOption('--env <name>', 'stage environment, e.g. stage-a')
    .action(async (p: string, o: { env: string }) => done('staged')(await client().command({ type: 'StagePush', push: positiveId('push')(p), env: o.env })));
  push.command('verify <push>').description('verify every staged request of the push you own or watch').action(async (p: string) => done('verified')(await client().command({ type: 'VerifyPush', push: positiveId('push')(p) })));
  push
    .command('bless <push>')
    .description('send the push to production (refused while a staged request is unverified)')
    .option('--force', 'bless even with unverified requests (logged)')
    .action(async (p: string, o: { force?: boolean }) => done('blessed')(await client().command({ type: 'BlessPush', push: positiveId('push')(p), force: !!o.force })));
  push
    .command('certify <push>')
    .description('master := deploy branch, tag it, requests go live')
    .option('--force', 'certify with open checklist items (logged)')
    .action(async (p: string, o: { force?: boolean }) => done('certified')(await client().command({ type: 'CertifyPush', push: positiveId('push')(p), force: !!o.force })));
  push
    .command('discard <push>')
    .description('discard the push; its requests wait again')
    .option('--reason <text>')
    .action(async (p: string, o: { reason?: string }) => done('discarded')(await client().command({ type: 'DiscardPush', push: positiveId('push')(p), ...(o.reason && { reason: o.reason }) })));
  push
    .command('message <push> <text...>')
    .description('message the pushees of the push: owners and watchers of the requests accepted into it (added to blessed); pickmes only with --state pickme')
    .addOption(new Option('--state <state>', 'only requests in this state (--state pickme: the pickmes, which a plain message does not reach)').choices(['pickme', 'added', 'staged', 'verified', 'blessed']))
    .action(async (p: string, text: string[], o: { state?: string }) =>
      done('sent')(await client().command({ type: 'MessagePushees', push: positiveId('push')(p), text: text.join(' '), ...(o.state && { state: o.state as 'staged' }) })),
    );
  push
    .command('pingme <push>')
    .description('be notified when the push is staged and blessed')
    .option('--off', 'stop being notified')
    .action(async (p: string, o: { off?: boolean }) => done('ping list updated')(await client().command({ type: 'PingmePush', push: positiveId('push')(p), on: !o.off })));
  push.command('takeover <push>').description('become the pushmaster of the push').action(async (p: string) => done('taken over')(await client().command({ type: 'TakeOverPush', push: positiveId('push')(p) })));
  push
    .command('tick <push> <item>')
    .description('tick a checklist item of the push')
    .option('--undo', 'untick it')
    .action(async (p: string, item: string, o: { undo?: boolean }) => done('checklist updated')(await client().command({ type: 'TickChecklist', push: positiveId('push')(p), item, done: !o.undo })));
  push.command('show <push>').description('one push with its removals and history').action(async (p: string) => io.out(renderPush(await client().pushDetail(positiveId('push')(p)))));

  // ---- request verbs (pushees) ----
  const request = program.command('request').description('one push request: show, pickme, unpickme, verify, delay, undelay, discard, comment, edit');
  request.command('show <id>').description('one request with its history (from the metadata branch)').action(async (id: string) => io.out(renderRequest(await client().requestDetail(positiveId('request')(id)))));
  request
    .command('pickme <id>')
    .description('offer the request to the accepting push')
    .option('--push <id>', 'a specific push', positiveId('push'))
    .action(async (id: string, o: { push?: number }) => done('picked')(await client().command({ type: 'PickmeRequest', request: positiveId('request')(id), ...(o.push && { push: o.push }) })));
  request.command('unpickme <id>').description('take the request back out of the push').action(async (id: string) => done('unpicked')(await client().command({ type: 'UnpickmeRequest', request: positiveId('request')(id) })));
  request.command('verify <id>').description('confirm the change works on stage').action(async (id: string) => done('verified')(await client().command({ type: 'VerifyRequest', request: positiveId('request')(id) })));
  request
    .command('delay <id>')
    .description('hold the request back from pushes')
    .option('--reason <text>')
    .action(async (id: string, o: { reason?: string }) => done('delayed')(await client().command({ type: 'DelayRequest', request: positiveId('request')(id), ...(o.reason && { reason: o.reason }) })));
  request.command('undelay <id>').description('let the request wait for a push again').action(async (id: string) => done('undelayed')(await client().command({ type: 'UndelayRequest', request: positiveId('request')(id) })));
  request
    .command('discard <id>')
    .description('drop the request for good')
    .option('--reason <text>')
    .action(async (id: string, o: { reason?: string }) => done('discarded')(await client().command({ type: 'DiscardRequest', request: positiveId('request')(id), ...(o.reason && { reason: o.reason }) })));
  request.command('comment <id> <text...>').description('comment on the request').action(async (id: string, text: string[]) => done('commented')(await client().command({ type: 'CommentRequest', request: positiveId('request')(id), text: text.join(' ') })));
  request
    .command('edit <id>')
    .description('change title, description, tags, watchers, review or ticket')
    .option('--title <text>')
    .option('--description <text>')
    .option('--tags <list>', 'comma-separated; replaces your tags', list)
    .option('--watchers <list>', 'comma-separated user names', list)
    .option('--review <id>')
    .option('--ticket <key>')
    .action(async (id: string, o: Record<string, unknown>) => done('edited')(await client().command({ type: 'EditRequest', request: positiveId('request')(id), ...(o as { title?: string }) })));

  return program;
}

export async function main(argv: string[], io = { out: (s: string) => void process.stdout.write(s), err: (s: string) => void process.stderr.write(s), env: process.env }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (e instanceof CredentialsRefused) {
      // Said once, as is: the same credentials would be refused again (and count as guesses).
      io.err(`pushmanager: ${e.message}\n`);
      return EXIT_REFUSED;
    }
    if (e instanceof ServerRefusal) {
      io.err(`pushmanager: refused: ${e.message} [${e.code}]\n`);
      return EXIT_REFUSED;
    }
    if (e instanceof ServerUnreachable) {
      io.err(`pushmanager: ${e.message}\n`);
      return EXIT_REFUSED;
    }
    const err = e as Error & { code?: string };
    io.err(`pushmanager: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
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
