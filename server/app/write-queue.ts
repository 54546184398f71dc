// Serialises writers inside one process so they do not race each other into compare-and-swap retries.
// CAS on the ref still protects against writers in other processes (an operator, a second server).
//
// Waiting work is served by lane, then in arrival order: a `git push` waits with its client on the
// line (and its recording is the latency we promise), a person's command next, the server's own
// bookkeeping (recording conflict findings, background builds) last. Under load, a push used to
// queue behind a burst of those. Reordering waiting commands is safe: each one is decided against
// the board as it is when its turn comes, and commands that wait together were concurrent anyway.

/** Most urgent first. */
export const LANES = ['push', 'command', 'background'] as const;
export type Lane = (typeof LANES)[number];

interface Waiting {
  readonly start: () => void;
}

export class WriteQueue {
  private readonly lanes = new Map<Lane, Waiting[]>(LANES.map((l) => [l, []]));
  private busy = false;
  private depth = 0;

  /** Commands waiting or running. */
  get length(): number {
    return this.depth;
  }

  run<T>(task: () => Promise<T>, lane: Lane = 'command'): Promise<T> {
    this.depth++;
    return new Promise<T>((resolve, reject) => {
      this.lanes.get(lane)!.push({
        start: () => {
          let result: Promise<T>;
          try {
            result = task();
          } catch (e) {
            result = Promise.reject(e);
          }
          result.then(resolve, reject).finally(() => {
            this.depth--;
            this.busy = false;
            this.next();
          });
        },
      });
      this.next();
    });
  }

  private next(): void {
    if (this.busy) return;
    for (const lane of LANES) {
      const w = this.lanes.get(lane)!.shift();
      if (w) {
        this.busy = true;
        w.start();
        return;
      }
    }
  }
}
