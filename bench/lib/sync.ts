// Small concurrency tools for the simulation: a mutex, a readers-writer lock, a counting semaphore, a
// seeded random source, and a latch that actors wait on while the server is down.

export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** Many readers or one writer; a waiting writer holds back new readers, so it is not starved. */
export class RwLock {
  private readers = 0;
  private writer = false;
  private writersWaiting = 0;
  private waiters: (() => void)[] = [];

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  private wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writer || this.writersWaiting > 0) await this.wait();
    this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    this.writersWaiting++;
    while (this.writer || this.readers > 0) await this.wait();
    this.writersWaiting--;
    this.writer = true;
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.wake();
    }
  }
}

export class Semaphore {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.free <= 0) await new Promise<void>((r) => this.waiters.push(r));
    this.free--;
    try {
      return await fn();
    } finally {
      this.free++;
      this.waiters.shift()?.();
    }
  }
}

/** Open or closed; `wait()` resolves at once when open, otherwise when next opened. */
export class Latch {
  private resolveOpen: (() => void) | null = null;
  private opened: Promise<void> = Promise.resolve();
  get isOpen(): boolean {
    return this.resolveOpen === null;
  }
  close(): void {
    if (this.resolveOpen) return;
    this.opened = new Promise((r) => (this.resolveOpen = r));
  }
  open(): void {
    const r = this.resolveOpen;
    this.resolveOpen = null;
    r?.();
  }
  wait(): Promise<void> {
    return this.opened;
  }
}

/** mulberry32, deterministic for a seed: the same generator the git fixtures use. */
export { seededRandom as seeded } from '../../test/helpers/git-fixtures.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
