// git's pkt-line framing (4 hex digits of length, then data; "0000" is a flush), as the proc-receive hook speaks it.

export type Packet = { readonly kind: 'data'; readonly text: string } | { readonly kind: 'flush' };

export function encodePacket(text: string): string {
  const len = Buffer.byteLength(text, 'utf8') + 4;
  if (len > 65520) throw new Error('pkt-line too long');
  return len.toString(16).padStart(4, '0') + text;
}
export const FLUSH = '0000';

/** Incremental decoder: feed bytes, take whole packets. */
export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  next(): Packet | null {
    if (this.buf.length < 4) return null;
    const len = parseInt(this.buf.subarray(0, 4).toString('ascii'), 16);
    if (Number.isNaN(len)) throw new Error('bad pkt-line length');
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
