// The conflict checker's caches, shaped so a hit allocates nothing. A push's whole matrix is checked
// again after every change to the push (thousands of pairs, nearly all cached); keys built by string
// concatenation and an LRU that moved every hit to the end of its Map made most of the server's
// garbage on a busy day (an allocation profile of the simulation: checkAll 1.9 of 3 GB). Results hold
// only for the master they were computed on, so entries live under their master, and only the two
// latest masters are kept (checks in flight across a certification use the one before).

const MASTERS_KEPT = 2;

/** Values keyed by (master, key), at most `capacity` per master; a full master's map drops its older half. */
export class PerMaster<V> {
  private readonly byMaster = new Map<string, Map<string, V>>();
  constructor(private readonly capacity: number) {}

  get(master: string, key: string): V | undefined {
    return this.byMaster.get(master)?.get(key);
  }

  set(master: string, key: string, value: V): void {
    const m = mapFor(this.byMaster, master, () => new Map<string, V>());
    if (m.size >= this.capacity && !m.has(key)) {
      // Insertion order is age: drop the oldest half in one pass, not one entry per insert.
      let drop = m.size - Math.floor(this.capacity / 2);
      for (const k of m.keys()) {
        if (drop-- <= 0) break;
        m.delete(k);
      }
    }
    m.set(key, value);
  }

  clear(): void {
    this.byMaster.clear();
  }
}

/** Values for unordered pairs of SHAs under a master, nested by SHA so a lookup builds no key. */
export class PairCache<V> {
  private readonly byMaster = new Map<string, { pairs: Map<string, Map<string, V>>; size: number }>();
  constructor(private readonly capacity: number) {}

  get(master: string, a: string, b: string): V | undefined {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    return this.byMaster.get(master)?.pairs.get(lo)?.get(hi);
  }

  set(master: string, a: string, b: string, value: V): void {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const m = mapFor(this.byMaster, master, () => ({ pairs: new Map<string, Map<string, V>>(), size: 0 }));
    if (m.size >= this.capacity) {
      // Rare (a push's matrix is a few thousand pairs): start this master afresh.
      m.pairs.clear();
      m.size = 0;
    }
    let row = m.pairs.get(lo);
    if (!row) m.pairs.set(lo, (row = new Map()));
    if (!row.has(hi)) m.size++;
    row.set(hi, value);
  }

  clear(): void {
    this.byMaster.clear();
  }
}

/** The map for `master`, made (and the oldest master dropped beyond MASTERS_KEPT) on first use. */
function mapFor<M>(byMaster: Map<string, M>, master: string, make: () => M): M {
  let m = byMaster.get(master);
  if (!m) {
    byMaster.set(master, (m = make()));
    while (byMaster.size > MASTERS_KEPT) byMaster.delete(byMaster.keys().next().value!);
  }
  return m;
}
