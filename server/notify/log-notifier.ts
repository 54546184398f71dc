// LogNotifier: the default channel when no IRC/XMPP/SMTP server is configured. Appends one JSON line
// per delivery to a file, so a fresh install shows what it would have sent.
import { statSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Delivery } from '../../state/notify/delivery.js';
import type { Notifier } from './notifier.js';
import { NotifyError } from './notify-error.js';

export interface LogNotifierOptions {
  readonly file: string;
  readonly now?: () => Date;
}

export class LogNotifier implements Notifier {
  readonly channel = 'log' as const;
  private readonly file: string;
  private readonly now: () => Date;
  // Appends are chained so lines never interleave.
  private tail: Promise<void> = Promise.resolve();
  private fh: FileHandle | null = null;
  private ino = -1;

  constructor(opts: LogNotifierOptions) {
    this.file = opts.file;
    this.now = opts.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
  }

  send(d: Delivery): Promise<void> {
    const line = `${JSON.stringify({ at: this.now().toISOString(), key: d.key, channel: d.channel, to: d.to, subject: d.subject, text: d.text })}\n`;
    const next = this.tail.then(async () => {
      try {
        const fh = await this.handle();
        try {
          await fh.write(line);
          await fh.datasync();
        } catch (e) {
          await this.drop();
          throw e;
        }
      } catch (e) {
        throw new NotifyError('log-write-failed', `cannot append to ${this.file}`, { cause: e, data: { file: this.file } });
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * The file, kept open between lines: opening it (with its folder made) for every line was three trips
   * through libuv's thread pool per delivery (issue 17). Opened again when the file went or was replaced
   * (rotated), which a stat of its name tells.
   */
  private async handle(): Promise<FileHandle> {
    if (this.fh && statSync(this.file, { throwIfNoEntry: false })?.ino === this.ino) return this.fh;
    await this.drop();
    await mkdir(dirname(this.file), { recursive: true });
    const fh = await open(this.file, 'a');
    this.ino = (await fh.stat()).ino;
    this.fh = fh;
    return fh;
  }

  private async drop(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.tail;
    await this.drop();
  }
}
