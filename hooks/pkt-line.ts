// git's pkt-line framing (4 hex digits of length, then data; "0000" is a flush), as the server speaks it
// to git's receive-pack through the proc-receive relay, and the band frames the relay demultiplexes.

export type Packet = { readonly kind: 'data'; readonly text: string } | { readonly kind: 'flush' };

/** Largest pkt-line, length digits included (git's LARGE_PACKET_MAX). */
export const MAX_PACKET = 65520;

export function encodePacket(text: string): string {
  const len = Buffer.byteLength(text, 'utf8') + 4;
  if (len > MAX_PACKET) throw new Error('pkt-line too long');
  return len.toString(16).padStart(4, '0') + text;
}
export const FLUSH = '0000';

/**
 * Where a band frame's bytes go in the relay (hooks/proc-receive.{pl,ts}): 1 its stdout (to
 * receive-pack), 2 its stderr (git shows it as `remote:` lines), 3 its stderr and then exit 1. This is
 * git's own side-band framing: a pkt-line whose first data byte is the band; a flush ends the talk.
 */
export const BAND = { stdout: 1, stderr: 2, fatal: 3 } as const;
export type Band = (typeof BAND)[keyof typeof BAND];

/** `bytes` as band frames, split to fit pkt-lines. */
export function encodeBand(band: Band, bytes: Buffer | string): Buffer {
  const data = Buffer.from(bytes);
  const max = MAX_PACKET - 5;
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += max) {
    const part = data.subarray(at, at + max);
    frames.push(Buffer.from((part.length + 5).toString(16).padStart(4, '0'), 'ascii'), Buffer.of(band), part);
  }
  return Buffer.concat(frames);
}

/** Incremental decoder: feed bytes, take whole packets. */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  next(): Packet | null {
    if (this.buf.length < 4) return null;
    const hex = this.buf.subarray(0, 4).toString('latin1');
    // parseInt alone would read "00zz" as 0, a flush.
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Error('bad pkt-line length');
    const len = parseInt(hex, 16);
    if (len === 0) {
      this.buf = this.buf.subarray(4);
      return { kind: 'flush' };
    }
    if (len < 4) throw new Error(`unexpected pkt-line ${len}`);
    if (this.buf.length < len) return null;
    const text = this.buf.subarray(4, len).toString('utf8').replace(/\n$/, '');
    this.buf = this.buf.subarray(len);
    return { kind: 'data', text };
  }
}
