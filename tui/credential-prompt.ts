// Asking the person at the terminal for a user name and password (hidden), and the one rule every
// client follows with credentials: never send again what the server refused. On a terminal a refused
// password is asked for again (a few times, as sudo does); without one the first refusal ends the run.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { CredentialsRefused, type ClientOptions } from './client.js';
import { PushmanagerError } from '../state/pushmanager-error.js';

export interface CredentialPrompt {
  askUser(suggested: string): Promise<string | null>;
  askPassword(user: string, server: string): Promise<string | null>;
  say(text: string): void;
}

/** How many passwords a person gets to type before the command gives up. */
export const MAX_PROMPTED_TRIES = 3;

/** Typed Ctrl-C or Ctrl-D at a prompt. */
export class PromptCancelled extends PushmanagerError {
  readonly code = 'prompt-cancelled' as const;
}

/** A prompt on the process's terminal (questions on stderr, so stdout stays for output), or null without one. */
export function terminalPrompt(stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr): CredentialPrompt | null {
  if (!stdin.isTTY || !stderr.isTTY) return null;
  return {
    async askUser(suggested) {
      const rl = createInterface({ input: stdin, output: stderr, terminal: true });
      try {
        const answer = (await rl.question(`user${suggested ? ` [${suggested}]` : ''}: `)).trim();
        return answer || suggested || null;
      } catch {
        return null;
      } finally {
        rl.close();
      }
    },
    askPassword: (user, server) => readHidden(`password for ${user} at ${server}: `, stdin, stderr),
    say: (text) => void stderr.write(`${text}\n`),
  };
}

/** Reads one line without echoing it (raw mode); null on Ctrl-C or on Ctrl-D at an empty line. */
export function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string | null> {
  output.write(prompt);
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve) => {
    let value = '';
    const finish = (v: string | null) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      resolve(v);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(value);
        if (ch === '\u0003') return finish(null);
        if (ch === '\u0004') {
          if (value === '') return finish(null);
        } else if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}

const suggestedUser = (): string => {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
};

async function ask(prompt: CredentialPrompt, server: string, user: string | undefined): Promise<ClientOptions> {
  const name = user ?? (await prompt.askUser(suggestedUser()));
  if (name === null) throw new PromptCancelled('cancelled at the user prompt; nothing was sent');
  const password = await prompt.askPassword(name, server);
  if (password === null || password === '') throw new PromptCancelled('no password given; nothing was sent');
  return { server, user: name, password };
}

/**
 * Runs `attempt` with the credentials given; missing ones (no token, no password) are asked for on a
 * terminal. A CredentialsRefused is final without a prompt; with one the password is asked again, up
 * to MAX_PROMPTED_TRIES times. Returns the result and the credentials that worked.
 */
export async function withCredentials<T>(opts: ClientOptions, prompt: CredentialPrompt | null, attempt: (o: ClientOptions) => Promise<T>): Promise<{ result: T; options: ClientOptions }> {
  const server = opts.server.replace(/\/+$/, '');
  let o = opts;
  if (prompt && o.token === undefined && o.password === undefined) o = await ask(prompt, server, o.user);
  for (let tries = 1; ; tries++) {
    try {
      return { result: await attempt(o), options: o };
    } catch (e) {
      if (!(e instanceof CredentialsRefused) || !prompt || tries >= MAX_PROMPTED_TRIES) throw e;
      prompt.say(e.message);
      // A refused token says nothing about a password: ask for the user name too.
      o = await ask(prompt, server, o.token === undefined ? o.user : undefined);
    }
  }
}
