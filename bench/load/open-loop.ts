// Open-loop load: arrivals at a fixed offered rate (Poisson, seeded), each started on time whatever the
// server's state, and timed from when it was due, not from when it was sent. A closed loop (send, wait,
// send) slows down with the server and hides its queueing (coordinated omission); this does not.
// Work on one key (a ref) is chained: the next push to a ref waits for the previous, as one engineer's
// pushes do, and the wait counts in its latency.

export interface Arrival {
  /** performance.now() when the arrival was due. */
  readonly due: number;
  readonly index: number;
}

export interface OfferOptions<T> {
  /** Arrivals per second. */
  readonly rate: number;
  readonly seconds: number;
  /** Uniform [0, 1) random numbers (seeded, so runs repeat). */
  readonly rnd: () => number;
  /** Beyond this many in flight, an arrival is refused at once (counted as dropped): protects the machine. */
  readonly maxInFlight: number;
  /** The next item of work, or null when the plan is used up. */
  readonly take: () => T | null;
  /** The key whose work is serialised (e.g. the ref). */
  readonly keyOf: (item: T) => string;
  readonly run: (item: T, arrival: Arrival) => Promise<void>;
}

export interface OfferResult {
  readonly offered: number;
  readonly dropped: number;
  /** Resolves when every started arrival has finished. */
  readonly drained: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function offerLoad<T>(o: OfferOptions<T>): Promise<OfferResult> {
  const start = performance.now();
  const end = start + o.seconds * 1000;
  const chains = new Map<string, Promise<void>>();
  const all = new Set<Promise<void>>();
  let due = start;
  let offered = 0;
  let dropped = 0;
  let inFlight = 0;
  for (let index = 0; ; index++) {
    due += (-Math.log(1 - o.rnd()) / o.rate) * 1000;
    if (due >= end) break;
    await sleep(due - performance.now());
    const item = o.take();
    if (item === null) break;
    offered++;
    if (inFlight >= o.maxInFlight) {
      dropped++;
      continue;
    }
    const key = o.keyOf(item);
    const arrival = { due, index };
    inFlight++;
    const p = (chains.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => o.run(item, arrival)).finally(() => {
      inFlight--;
      if (chains.get(key) === p) chains.delete(key);
    });
    chains.set(key, p);
    all.add(p);
    void p.finally(() => all.delete(p)).catch(() => undefined);
  }
  const drained = (async () => {
    while (all.size) await Promise.allSettled([...all]);
  })();
  return { offered, dropped, drained };
}
