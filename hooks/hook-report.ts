// What the proc-receive hook writes back to git for a HookResponse: `remote:` text for stderr and the
// ok/ng pkt-lines for stdout. One pure rendering; the server sends it through the relay unchanged.
import { FLUSH, encodePacket } from './pkt-line.js';
import type { HookResponse } from './hook-protocol.js';

export interface HookOutput {
  /** The messages, one per line; git shows each as a `remote:` line. */
  readonly stderr: string;
  /** The per-ref results as pkt-lines, then a flush. */
  readonly stdout: string;
}

// A pkt-line holds at most 65516 bytes of data, but receive-pack re-sends the reason to the client as
// `ng <ref> <reason>\n` in a pkt-line of its own, and dies ("impossibly long line") when that does not
// fit: the client then waits forever. A reason is a sentence; the `remote:` lines carry any more.
const MAX_PACKET_DATA = 4096;

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
