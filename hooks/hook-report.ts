// What the proc-receive hook writes back to git for a HookResponse: `remote:` text for stderr and the
// ok/ng pkt-lines for stdout. One pure rendering, used by the server for the byte report (the Perl hook
// writes it unchanged) and by the Node hook, so both runtimes say exactly the same thing.
import { FLUSH, encodePacket } from './pkt-line.js';
import type { HookResponse, RefCommand } from './hook-protocol.js';

export interface HookOutput {
  /** The messages, one per line; git shows each as a `remote:` line. */
  readonly stderr: string;
  /** The per-ref results as pkt-lines, then a flush. */
  readonly stdout: string;
}

// A pkt-line holds at most 65516 bytes of data; a longer `ng` reason would make the whole answer fail.
const MAX_PACKET_DATA = 65516;

function fitPacket(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_PACKET_DATA) return text;
  const suffix = '...';
  let cut = Buffer.from(text, 'utf8').subarray(0, MAX_PACKET_DATA - suffix.length).toString('utf8');
  // A multi-byte character cut in half decodes to U+FFFD (3 bytes): drop it and let the length settle.
  while (Buffer.byteLength(cut + suffix, 'utf8') > MAX_PACKET_DATA || cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + suffix;
}

export function renderHookOutput(answer: HookResponse): HookOutput {
  let stderr = '';
  for (const m of answer.messages) stderr += `${m}\n`;
  let stdout = '';
  for (const r of answer.results) {
    if (r.ok) {
      stdout += encodePacket(`ok ${r.ref}`);
      if (r.forcedUpdate) stdout += encodePacket('option forced-update');
    } else stdout += encodePacket(fitPacket(`ng ${r.ref} ${r.reason.replace(/[\r\n]+/g, ' ')}`));
  }
  return { stderr, stdout: stdout + FLUSH };
}

/** The byte report (`HOOK_REPORT_TYPE`): `<stderr byte length>\n<stderr><stdout>`. */
export function encodeHookReport(answer: HookResponse): Buffer {
  const { stderr, stdout } = renderHookOutput(answer);
  const err = Buffer.from(stderr, 'utf8');
  return Buffer.concat([Buffer.from(`${err.length}\n`, 'ascii'), err, Buffer.from(stdout, 'utf8')]);
}

/** The inverse of encodeHookReport; throws on a body that is not a report. */
export function decodeHookReport(body: Buffer): { stderr: Buffer; stdout: Buffer } {
  const nl = body.indexOf(0x0a);
  const head = nl < 0 ? '' : body.subarray(0, nl).toString('ascii');
  if (!/^\d{1,10}$/.test(head) || nl + 1 + Number(head) > body.length) throw new Error('the server sent a malformed hook report');
  const end = nl + 1 + Number(head);
  return { stderr: body.subarray(nl + 1, end), stdout: body.subarray(end) };
}

/** What every ref gets when the server cannot be asked: refused, with why, and nothing recorded. */
export function unreachableAnswer(commands: readonly RefCommand[], detail: string): HookResponse {
  const why = `pushmanager server unreachable (${detail}); nothing was recorded, try again`;
  return { results: commands.map((c) => ({ ref: c.ref, ok: false, reason: why })), messages: [why] };
}
