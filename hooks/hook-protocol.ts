// What git's receive-pack and this server say to each other through the proc-receive relay. The relay
// (hooks/proc-receive.{pl,ts}) is a byte pipe over a Unix socket: it sends the push token line, then its
// stdin; the server speaks git's proc-receive protocol here and answers in band frames (pkt-line.ts).
import { FLUSH, encodePacket, type Packet } from './pkt-line.js';

/** Set for the hook by the git HTTP endpoint: where the relay connects, and who pushes. */
export const HOOK_SOCKET_ENV = 'PUSHMANAGER_HOOK_SOCKET';
export const PUSH_TOKEN_ENV = 'PUSHMANAGER_PUSH_TOKEN';
/** The token line the relay sends first is at most this long (a token is 43 characters). */
export const MAX_TOKEN_LINE = 256;

export interface RefCommand {
  readonly oldSha: string;
  readonly newSha: string;
  readonly ref: string;
}

export interface HookRequest {
  readonly user: string;
  readonly commands: readonly RefCommand[];
  readonly options: readonly string[];
  /**
   * git offered the `atomic` capability (`git push --atomic`): every ref is accepted or none is. git's
   * receive-pack leaves this to the hook for the refs it hands over (all of them here), so the server
   * must refuse them all itself. Absent: false.
   */
  readonly atomic?: boolean;
  /**
   * How many push options git sent beyond what was kept (MAX_PUSH_OPTIONS, MAX_PUSH_OPTION_BYTES); the
   * push is refused for it. Absent: none.
   */
  readonly optionsDropped?: number;
}

/**
 * At most this many push options, of at most this many bytes in all, are kept from a push: seven keys
 * exist and each may be given once, so more is never a valid push, and receive-pack forwards whatever a
 * client sends (a million options would otherwise be held, and each named in the refusal, by the server).
 */
export const MAX_PUSH_OPTIONS = 64;
export const MAX_PUSH_OPTION_BYTES = 256 * 1024;

export type RefResult =
  | { readonly ref: string; readonly ok: true; readonly forcedUpdate?: boolean }
  | { readonly ref: string; readonly ok: false; readonly reason: string };

export interface HookResponse {
  readonly results: readonly RefResult[];
  /** Lines shown to the pusher as `remote:` lines. */
  readonly messages: readonly string[];
}

/** The next packet from receive-pack; rejects when the stream ends or a packet is malformed. */
export type NextPacket = () => Promise<Packet>;

async function untilFlush(next: NextPacket): Promise<string[]> {
  const lines: string[] = [];
  for (let p = await next(); p.kind === 'data'; p = await next()) lines.push(p.text);
  return lines;
}

/**
 * git's side of proc-receive, up to the report: version negotiation (git sends "version=1\0<caps>";
 * "atomic" for `git push --atomic`, "push-options" when the client may send them, and we answer that we
 * want the push options), the ref commands, then the push options. `send` writes to receive-pack.
 */
export async function readPush(next: NextPacket, send: (bytes: string) => void): Promise<Omit<HookRequest, 'user'>> {
  const capabilities = (await untilFlush(next)).flatMap((l) => (l.split('\0')[1] ?? '').split(' '));
  const wantsOptions = capabilities.includes('push-options');
  send(encodePacket(`version=1\0${wantsOptions ? 'push-options' : ''}`) + FLUSH);
  const commands = (await untilFlush(next)).map((l): RefCommand => {
    const [oldSha = '', newSha = '', ref = ''] = l.split(' ');
    return { oldSha, newSha, ref };
  });
  const options: string[] = [];
  let dropped = 0;
  let bytes = 0;
  if (wantsOptions)
    for (let p = await next(); p.kind === 'data'; p = await next()) {
      bytes += Buffer.byteLength(p.text);
      if (options.length < MAX_PUSH_OPTIONS && bytes <= MAX_PUSH_OPTION_BYTES) options.push(p.text);
      else dropped++;
    }
  return { commands, options, atomic: capabilities.includes('atomic'), ...(dropped && { optionsDropped: dropped }) };
}
