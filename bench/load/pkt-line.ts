// git's pkt-line framing over bytes, for the load generator: the side-band answer of receive-pack is
// binary (a band byte, then payload that may split a UTF-8 character across packets), which the
// text-only reader in hooks/pkt-line.ts (made for the proc-receive hook's lines) cannot carry.

/** One pkt-line: four hex digits of length (itself included), then the data. */
export function pkt(data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (body.length + 4 > 65520) throw new Error(`pkt-line too long (${body.length} bytes)`);
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'ascii'), body]);
}

export const FLUSH_PKT = Buffer.from('0000', 'ascii');

export type RawPacket = { readonly kind: 'data'; readonly data: Buffer } | { readonly kind: 'flush' };

/** Incremental decoder: push bytes, take whole packets; null when more bytes are needed. */
export class BinaryPacketReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** Bytes not yet taken as packets (e.g. a pack after the commands, or a truncated answer). */
  get pending(): number {
    return this.buf.length;
  }

  next(): RawPacket | null {
    if (this.buf.length < 4) return null;
    const head = this.buf.subarray(0, 4).toString('ascii');
    if (!/^[0-9a-f]{4}$/i.test(head)) throw new Error(`bad pkt-line length "${head}"`);
    const len = parseInt(head, 16);
    // 0000 flush; 0001 delim and 0002 response-end belong to protocol v2 and end a section the same way.
    if (len < 4) {
      this.buf = this.buf.subarray(4);
      return { kind: 'flush' };
    }
    if (this.buf.length < len) return null;
    const data = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return { kind: 'data', data };
  }
}

/** A packet's text without its one trailing newline (git ends most text packets with one). */
export const packetText = (data: Buffer): string => data.toString('utf8').replace(/\n$/, '');
