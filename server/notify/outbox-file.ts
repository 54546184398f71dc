// The outbox journal on disk: read at start-up, records appended and fsync'd one batch at a time,
// and rewritten by compaction (temp file, fsync, rename, fsync the directory) so that a crash at
// any point leaves either the old journal or the new one, whole. The format is
// state/notify/outbox-journal.ts; when to compact and with what is the caller's (a `plan`).
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJournal, encodeRecords, type DecodedJournal, type OutboxRecord } from '../../state/notify/outbox-journal.js';
import { NotifyError } from './notify-error.js';

export const JOURNAL_FILE = 'outbox.jsonl';

/**
 * Asked after every append (and by compactIfDue) with the journal's current line count: the
 * records to rewrite the journal with, or null to leave it as it is.
 */
export type CompactionPlan = (journalLines: number) => readonly OutboxRecord[] | null;

export class OutboxFile {
  private journalLines: number;
  private writeChain: Promise<void> = Promise.resolve();
  private syncs = 0;
  private readonly waiting: { recs: readonly OutboxRecord[]; resolve: () => void; reject: (e: unknown) => void }[] = [];

  private constructor(
    private readonly dir: string,
    private readonly file: string,
    private fh: FileHandle | null,
    private readonly plan: CompactionPlan,
    lines: number,
  ) {
    this.journalLines = lines;
  }

  /** Creates `dir` if missing, reads the journal in it (none yet: empty) and opens it for appending. */
  static async open(dir: string, plan: CompactionPlan): Promise<{ file: OutboxFile; journal: DecodedJournal }> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, JOURNAL_FILE);
    // A compaction that crashed before its rename leaves a temp file: the journal is still whole.
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new NotifyError('outbox-journal-failed', `cannot read ${file}`, { cause: e, data: { file } });
      }
    }
    const journal = decodeJournal(text);
    const fh = await open(file, 'a');
    return { file: new OutboxFile(dir, file, fh, plan, journal.lines), journal };
  }

  /** How many appends' disk flushes (fdatasync) were made: fewer than appends when they shared one. */
  get flushes(): number {
    return this.syncs;
  }

  /**
   * Appends records and fsyncs; writes are chained so that lines never interleave with a compaction.
   * Appends that arrive while one is being written share the next write and its one fdatasync (a group
   * commit): each still resolves only once its records are on disk. Under load every delivery made two or
   * three appends (enqueued, sent), each with a disk flush of its own (issue 17).
   */
  append(recs: readonly OutboxRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ recs, resolve, reject });
      // A run is already chained and has not started: it takes these records too.
      if (this.waiting.length > 1) return;
      const run = this.writeChain.then(async () => {
        const batch = this.waiting.splice(0);
        try {
          const fh = this.fh;
          if (!fh) throw new NotifyError('outbox-closed', 'outbox journal is closed');
          const all = batch.flatMap((b) => b.recs);
          try {
            await fh.write(encodeRecords(all));
            await fh.datasync();
            this.syncs++;
          } catch (e) {
            throw new NotifyError('outbox-journal-failed', `cannot write ${this.file}`, { cause: e, data: { file: this.file } });
          }
          this.journalLines += all.length;
          await this.compactIfDue();
        } catch (e) {
          for (const b of batch) b.reject(e);
          return;
        }
        for (const b of batch) b.resolve();
      });
      this.writeChain = run;
    });
  }

  /** Rewrites the journal if the plan says so. Outside append() only before any append can run (at start-up). */
  async compactIfDue(): Promise<void> {
    const recs = this.plan(this.journalLines);
    if (recs) await this.rewrite(recs);
  }

  /** Waits for the writes in flight, then closes the file; later appends fail with `outbox-closed`. */
  async close(): Promise<void> {
    await this.writeChain;
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  private async rewrite(recs: readonly OutboxRecord[]): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await out.write(encodeRecords(recs));
      await out.sync();
    } finally {
      await out.close();
    }
    await this.fh?.close();
    await rename(tmp, this.file);
    const dirHandle = await open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    this.fh = await open(this.file, 'a');
    this.journalLines = recs.length;
  }
}
