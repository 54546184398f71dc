// A git client for pushes only, in Node: speaks the smart-HTTP receive-pack protocol (v0) as `git push`
// does, so one process can offer dozens of pushes a second while the server side stays entirely real
// (`git http-backend`, `receive-pack`, the hook, the state commit, the conflict check). A push is the
// same two requests git makes: GET /info/refs?service=git-receive-pack (the refs and capabilities; the
// old value of each ref comes from here), then POST /git-receive-pack with the commands, the push options
// and the pack. The answer is read as git reads it: side-band 1 carries report-status (`unpack ok`,
// `ok <ref>` / `ng <ref> <reason>`), band 2 the hook's text (what git prints as `remote:`), band 3 a fatal
// error. A ref counts as pushed only when its `ok` line came back.
import http from 'node:http';
import { BinaryPacketReader, FLUSH_PKT, packetText, pkt } from './pkt-line.js';
import { buildPack } from './pack.js';

export const ZERO_SHA = '0'.repeat(40);

export interface Advertisement {
  readonly refs: ReadonlyMap<string, string>;
  readonly capabilities: ReadonlySet<string>;
}

export interface RefUpdate {
  readonly ref: string;
  /** The new value; ZERO_SHA deletes the ref. */
  readonly new: string;
  /** The value the client believes the ref has; default: as advertised (zero when absent), as git does. */
  readonly old?: string;
}

export interface PushPlan {
  readonly updates: readonly RefUpdate[];
  /** `key=value` push options (`-o`), sent when the server advertises push-options. */
  readonly options?: readonly string[];
  /** The pack of the new objects; omitted: an empty pack (no objects), or none at all for deletes only. */
  readonly pack?: Buffer | null;
  /** Skip the GET and use these ref values instead (when the caller knows them). */
  readonly advertisement?: Advertisement;
}

export interface RefStatus {
  readonly ref: string;
  readonly ok: boolean;
  /** Why the server refused the ref (the `ng` reason). */
  readonly reason?: string;
  /** report-status-v2 `option` lines about the ref (refname, old-oid, new-oid, forced-update). */
  readonly options: readonly string[];
}

export interface PushAnswer {
  /** ok: every ref's `ok` line came back; refused: the server answered and refused some; failed: no complete answer. */
  readonly outcome: 'ok' | 'refused' | 'failed';
  readonly httpStatus: number;
  /** `ok`, or the unpacker's error; null when no report came. */
  readonly unpack: string | null;
  readonly refs: readonly RefStatus[];
  /** Band-2 lines: what `git push` prints after "remote: ". */
  readonly remote: readonly string[];
  /** Why the push failed without an answer (HTTP status, connection error, band 3, truncated report). */
  readonly error?: string;
  /** The updates that were sent, with the old values used. */
  readonly sent: readonly Required<RefUpdate>[];
  /** Wall time of GET + POST, and of the GET alone, ms. */
  readonly ms: number;
  readonly advertiseMs: number;
}

export interface ReceivePackClientOptions {
  /** The repository's URL, e.g. http://127.0.0.1:7080/main.git (credentials here or below). */
  readonly url: string;
  readonly user?: string;
  readonly password?: string;
  readonly timeoutMs?: number;
  readonly agent?: http.Agent;
}

/** One keep-alive pool for every client in the process, as one curl handle keeps its connections. */
const sharedAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });

interface HttpReply {
  status: number;
  body: Buffer;
}

export class ReceivePackClient {
  private readonly base: URL;
  private readonly auth: string | null;

  constructor(private readonly o: ReceivePackClientOptions) {
    const u = new URL(o.url);
    const user = o.user ?? decodeURIComponent(u.username);
    const password = o.password ?? decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    this.base = u;
    this.auth = user ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : null;
  }

  private request(method: 'GET' | 'POST', path: string, body: Buffer | null, headers: Record<string, string>): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
      const req = http.request(
        url,
        {
          method,
          agent: this.o.agent ?? sharedAgent,
          headers: { 'user-agent': 'git/2.39.5 (pushmanager-load)', ...(this.auth && { authorization: this.auth }), ...(body && { 'content-length': String(body.length) }), ...headers },
          timeout: this.o.timeoutMs ?? 120_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('the answer was cut off')));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs ?? 120_000} ms`)));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  /** The refs and capabilities receive-pack advertises (GET /info/refs?service=git-receive-pack). */
  async advertise(): Promise<Advertisement> {
    const r = await this.request('GET', '/info/refs?service=git-receive-pack', null, {});
    if (r.status !== 200) throw new ProtocolError(`GET info/refs answered HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300).trim()}`);
    return parseAdvertisement(r.body);
  }

  /** One push: the commands, push options and pack; never throws for a refusal or a dead server. */
  async push(plan: PushPlan): Promise<PushAnswer> {
    const t0 = performance.now();
    let adv: Advertisement;
    let advertiseMs = 0;
    const fail = (error: string, httpStatus = 0, sent: Required<RefUpdate>[] = []): PushAnswer => ({ outcome: 'failed', httpStatus, unpack: null, refs: [], remote: [], error, sent, ms: performance.now() - t0, advertiseMs });
    try {
      adv = plan.advertisement ?? (await this.advertise());
    } catch (e) {
      return fail((e as Error).message);
    }
    advertiseMs = performance.now() - t0;
    const all = plan.updates.map((u) => ({ ref: u.ref, new: u.new, old: u.old ?? adv.refs.get(u.ref) ?? ZERO_SHA }));
    if (!all.length) return fail('nothing to push');
    // As git: a ref already at its new value is not sent ("Everything up-to-date"), and with none left, no POST.
    const sent = all.filter((u) => u.old !== u.new);
    if (!sent.length) return { outcome: 'ok', httpStatus: 200, unpack: null, refs: [], remote: [], sent: all, ms: performance.now() - t0, advertiseMs };
    const body = encodeRequest(sent, plan, adv.capabilities);
    let r: HttpReply;
    try {
      r = await this.request('POST', '/git-receive-pack', body, { 'content-type': 'application/x-git-receive-pack-request', accept: 'application/x-git-receive-pack-result' });
    } catch (e) {
      return fail((e as Error).message, 0, sent);
    }
    if (r.status !== 200) return fail(`POST git-receive-pack answered HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300).trim()}`, r.status, sent);
    const answer = parseReport(r.body, adv.capabilities.has('side-band-64k'));
    const refused = answer.refs.some((x) => !x.ok) || (answer.unpack !== null && answer.unpack !== 'ok');
    const complete = answer.complete && sent.every((u) => answer.refs.some((x) => x.ref === u.ref));
    const outcome = refused ? 'refused' : complete && !answer.error ? 'ok' : 'failed';
    return {
      outcome,
      httpStatus: r.status,
      unpack: answer.unpack,
      refs: answer.refs,
      remote: answer.remote,
      ...(outcome === 'failed' && { error: answer.error ?? 'the report ended before every ref was answered' }),
      sent,
      ms: performance.now() - t0,
      advertiseMs,
    };
  }
}

export class ProtocolError extends Error {
  readonly code = 'protocol-error';
}

/** The GET answer: "# service=…" and a flush, then `<sha> <ref>` lines, the first with NUL and capabilities. */
export function parseAdvertisement(body: Buffer): Advertisement {
  const reader = new BinaryPacketReader();
  reader.push(body);
  const refs = new Map<string, string>();
  let capabilities = new Set<string>();
  let first = true;
  for (let p = reader.next(); p; p = reader.next()) {
    if (p.kind === 'flush') continue;
    let line = packetText(p.data);
    if (line.startsWith('# service=')) continue;
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      if (first) capabilities = new Set(line.slice(nul + 1).split(' ').filter(Boolean));
      line = line.slice(0, nul);
    }
    first = false;
    const m = /^([0-9a-f]{40}) (.+)$/.exec(line);
    if (!m) throw new ProtocolError(`bad advertisement line "${line.slice(0, 100)}"`);
    if (m[2] !== 'capabilities^{}') refs.set(m[2]!, m[1]!);
  }
  if (first) throw new ProtocolError('the advertisement holds no refs line (not a receive-pack answer?)');
  return { refs, capabilities };
}

/** The POST body: commands (capabilities after the first), flush, push options and flush, then the pack. */
export function encodeRequest(updates: readonly Required<RefUpdate>[], plan: Pick<PushPlan, 'options' | 'pack'>, advertised: ReadonlySet<string>): Buffer {
  const options = plan.options ?? [];
  if (options.length && !advertised.has('push-options')) throw new ProtocolError('the server does not take push options (receive.advertisePushOptions)');
  const caps = [advertised.has('report-status-v2') ? 'report-status-v2' : 'report-status', ...['side-band-64k', 'quiet'].filter((c) => advertised.has(c)), ...(options.length ? ['push-options'] : []), 'object-format=sha1', 'agent=git/2.39.5'];
  const parts: Buffer[] = updates.map((u, i) => pkt(`${u.old} ${u.new} ${u.ref}${i === 0 ? `\0 ${caps.join(' ')}` : ''}`));
  parts.push(FLUSH_PKT);
  if (options.length) {
    for (const o of options) parts.push(pkt(o));
    parts.push(FLUSH_PKT);
  }
  // git sends a pack whenever a ref gets a new value (an empty one if the server has every object), none for deletes only.
  if (updates.some((u) => u.new !== ZERO_SHA)) parts.push(plan.pack ?? buildPack([]));
  return Buffer.concat(parts);
}

interface Report {
  unpack: string | null;
  refs: RefStatus[];
  remote: string[];
  complete: boolean;
  error?: string;
}

/** The POST answer: side-band packets (or, without side-band, the report itself) → report-status and remote text. */
export function parseReport(body: Buffer, sideBand: boolean): Report {
  const status = new BinaryPacketReader();
  const remote: string[] = [];
  let error: string | undefined;
  if (sideBand) {
    const outer = new BinaryPacketReader();
    outer.push(body);
    let text = Buffer.alloc(0);
    try {
      for (let p = outer.next(); p; p = outer.next()) {
        if (p.kind === 'flush') continue;
        const band = p.data[0];
        const payload = p.data.subarray(1);
        if (band === 1) status.push(payload);
        else if (band === 2) text = Buffer.concat([text, payload]);
        else if (band === 3) error = `the server said: ${packetText(payload)}`;
      }
    } catch (e) {
      error = (e as Error).message;
    }
    // Progress lines end in \r (rewritten in place), messages in \n; keep each finished line once.
    for (const line of text.toString('utf8').split(/\r?\n|\r/)) if (line.length) remote.push(line);
  } else status.push(body);

  const report: Report = { unpack: null, refs: [], remote, complete: false, ...(error && { error }) };
  try {
    for (let p = status.next(); p; p = status.next()) {
      if (p.kind === 'flush') {
        report.complete = report.unpack !== null;
        break;
      }
      const line = packetText(p.data);
      if (line.startsWith('unpack ')) report.unpack = line.slice(7);
      else if (line.startsWith('ok ')) report.refs.push({ ref: line.slice(3), ok: true, options: [] });
      else if (line.startsWith('ng ')) {
        const rest = line.slice(3);
        const sp = rest.indexOf(' ');
        report.refs.push({ ref: sp < 0 ? rest : rest.slice(0, sp), ok: false, reason: sp < 0 ? '' : rest.slice(sp + 1), options: [] });
      } else if (line.startsWith('option ')) {
        const last = report.refs[report.refs.length - 1];
        if (last) (last.options as string[]).push(line.slice(7));
      }
    }
  } catch (e) {
    report.error = (e as Error).message;
  }
  return report;
}

/**
 * The answer as `git push --porcelain` prints it (stdout) with the `remote:` lines (stderr) before it,
 * so code that reads git's output reads this the same way. `force`: the update was sent as `+src:dst`.
 */
export function porcelainText(a: PushAnswer, url: string, force = false): string {
  const lines = a.remote.map((l) => `remote: ${l}`);
  if (a.outcome === 'failed') return [...lines, `error: failed to push some refs to '${url}': ${a.error ?? 'no answer'}`].join('\n') + '\n';
  lines.push(`To ${url}`);
  for (const u of a.sent) {
    const st = a.refs.find((r) => r.ref === u.ref);
    const spec = `${u.new === ZERO_SHA ? '' : u.new}:${u.ref}`;
    if (u.old === u.new) lines.push(`=\t${spec}\t[up to date]`);
    else if (!st || !st.ok) {
      const why = a.unpack !== 'ok' && a.unpack !== null ? 'unpacker error' : st?.reason || 'failed';
      lines.push(`!\t${spec}\t[remote rejected] (${why})`);
    } else if (u.new === ZERO_SHA) lines.push(`-\t${spec}\t[deleted]`);
    else if (u.old === ZERO_SHA) lines.push(`*\t${spec}\t[new reference]`);
    else lines.push(`${force ? '+' : ' '}\t${spec}\t${u.old.slice(0, 7)}${force ? '...' : '..'}${u.new.slice(0, 7)}${force ? ' (forced update)' : ''}`);
  }
  lines.push(a.outcome === 'ok' ? 'Done' : `error: failed to push some refs to '${url}'`);
  return lines.join('\n') + '\n';
}
