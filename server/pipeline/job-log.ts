// A local job's log: one file under the data dir, bounded in size, and a live feed for followers
// (`job log ID --follow`). The file keeps the head as it is written and, once the head is full, the
// last `tailBytes` in memory, written after a marker when the job ends: the start of a log says what
// ran, its end why it failed, and a runaway job cannot fill the disk.
import { EventEmitter } from 'node:events';
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

export interface JobLogLimits {
  readonly maxBytes: number;
  readonly tailBytes: number;
}

export const truncationMarker = (omitted: number): string => `\n[pushmanager: ${omitted} bytes of output left out here; the log keeps its start and its last part]\n`;

export class JobLog {
  private readonly fd: number;
  private readonly headLimit: number;
  /** Bytes in the file so far. */
  private written = 0;
  /** Bytes the job produced in all. */
  private produced = 0;
  private tail: Buffer[] = [];
  private tailSize = 0;
  private closed = false;
  private readonly feed = new EventEmitter();

  constructor(
    readonly path: string,
    private readonly limits: JobLogLimits,
  ) {
    this.fd = openSync(path, 'w', 0o600);
    this.headLimit = limits.maxBytes - limits.tailBytes;
    this.feed.setMaxListeners(0);
  }

  get truncated(): boolean {
    return this.produced > this.written + this.tailSize;
  }

  get done(): boolean {
    return this.closed;
  }

  /** Output of the job (or a line of the runner's own). Synchronous, so the file always holds exactly what followers were sent before they subscribed. */
  append(chunk: Buffer | string): void {
    if (this.closed) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.produced += buf.length;
    const room = this.headLimit - this.written;
    if (room > 0) {
      const head = buf.subarray(0, room);
      writeSync(this.fd, head);
      this.written += head.length;
      if (head.length < buf.length) this.keepTail(buf.subarray(head.length));
    } else this.keepTail(buf);
    this.feed.emit('data', buf);
  }

  private keepTail(buf: Buffer): void {
    this.tail.push(buf);
    this.tailSize += buf.length;
    while (this.tailSize - this.tail[0]!.length >= this.limits.tailBytes) this.tailSize -= this.tail.shift()!.length;
  }

  /** Writes the kept tail (after the marker when something was left out) and closes the file; followers end. */
  close(): void {
    if (this.closed) return;
    let tail = Buffer.concat(this.tail);
    if (tail.length > this.limits.tailBytes) tail = tail.subarray(tail.length - this.limits.tailBytes);
    const omitted = this.produced - this.written - tail.length;
    if (omitted > 0) writeSync(this.fd, truncationMarker(omitted));
    if (tail.length) writeSync(this.fd, tail);
    closeSync(this.fd);
    this.closed = true;
    this.tail = [];
    this.feed.emit('end');
  }

  /**
   * What the job has written so far, then each new chunk as it comes, until the job ends. A follower
   * that joins after the head filled up gets the marker in place of what it missed, then the tail kept so far.
   */
  async *follow(): AsyncGenerator<Buffer> {
    const queue: Buffer[] = [];
    let ended = this.closed;
    let wake: (() => void) | null = null;
    const onData = (b: Buffer) => {
      queue.push(b);
      wake?.();
    };
    const onEnd = () => {
      ended = true;
      wake?.();
    };
    // Subscribe and read the file in the same tick: nothing is missed or sent twice.
    this.feed.on('data', onData);
    this.feed.on('end', onEnd);
    try {
      const sofar = readFileSync(this.path);
      const tail = ended ? Buffer.alloc(0) : Buffer.concat(this.tail);
      const missed = ended ? 0 : this.produced - this.written - tail.length;
      if (sofar.length) yield sofar;
      if (ended) return;
      if (missed > 0) yield Buffer.from(truncationMarker(missed));
      if (tail.length) yield tail;
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      this.feed.off('data', onData);
      this.feed.off('end', onEnd);
    }
  }
}

/**
 * The last `bytes` of a log file as text, and whether its first line was cut by that limit; null when the
 * file is missing. Sync: a few KB read when a job ends or starts again, never on the push path.
 */
export function readLogEnd(path: string, bytes: number): { text: string; cut: boolean } | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, bytes);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, size - n);
    return { text: buf.toString('utf8'), cut: size > n };
  } finally {
    closeSync(fd);
  }
}
