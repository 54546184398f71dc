// A long-lived `git cat-file --batch` process: reading many blobs costs one process, not one each.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** An object as `--batch` prints it: its type from the header line, then its raw content. */
export interface RawObject {
  readonly type: string;
  readonly body: Buffer;
}

interface Pending {
  readonly name: string;
  readonly resolve: (v: RawObject | null) => void;
  readonly reject: (e: Error) => void;
}

export class CatFileBatch {
  private child: ChildProcessWithoutNullStreams | null = null;
  private queue: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);

  /** `env`: the environment git runs with (e.g. `gitEnv(git)`, so it sees what `git.run` would); default: this process's, with LC_ALL=C. */
  constructor(
    private readonly gitDir: string,
    private readonly env?: NodeJS.ProcessEnv,
  ) {}

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['-C', this.gitDir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'], env: this.env ?? { ...process.env, LC_ALL: 'C' } });
    child.stdout.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.drain();
    });
    const fail = (e: Error) => {
      const q = this.queue;
      this.queue = [];
      this.child = null;
      this.buf = Buffer.alloc(0);
      for (const p of q) p.reject(e);
    };
    child.on('error', fail);
    child.on('close', () => fail(new Error('git cat-file --batch exited')));
    child.stdin.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const header = this.buf.subarray(0, nl).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buf = this.buf.subarray(nl + 1);
        this.queue.shift();
        head.resolve(null);
        continue;
      }
      const [, type = '', sizeText] = header.split(' ');
      const size = Number(sizeText);
      if (this.buf.length < nl + 1 + size + 1) return;
      const body = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size));
      this.buf = this.buf.subarray(nl + 1 + size + 1);
      this.queue.shift();
      head.resolve({ type, body });
    }
  }

  /** The object's content, or null when it does not exist. `name` is a SHA or `<rev>:<path>`. */
  async read(name: string): Promise<Buffer | null> {
    return (await this.readObject(name))?.body ?? null;
  }

  /** The object's type and content, or null when it does not exist: for callers that must not mistake a tag for a commit. */
  readObject(name: string): Promise<RawObject | null> {
    if (/[\n\r]/.test(name)) return Promise.reject(new Error('object name contains a newline'));
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ name, resolve, reject });
      child.stdin.write(`${name}\n`);
    });
  }

  async readText(name: string): Promise<string | null> {
    const b = await this.read(name);
    return b === null ? null : b.toString('utf8');
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
  }
}

/** A tree object's entries, from its raw (binary) content: `<mode> <name>\0<20-byte id>` each. */
export function parseTreeObject(buf: Buffer): { mode: string; name: string; sha: string }[] {
  const out: { mode: string; name: string; sha: string }[] = [];
  for (let i = 0; i < buf.length; ) {
    const sp = buf.indexOf(32, i);
    const nul = sp < 0 ? -1 : buf.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > buf.length) throw new Error('a tree object cannot be parsed');
    out.push({ mode: buf.toString('latin1', i, sp), name: buf.toString('utf8', sp + 1, nul), sha: buf.toString('hex', nul + 1, nul + 21) });
    i = nul + 21;
  }
  return out;
}
