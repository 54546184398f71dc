// The conflict checker's caches: values live under their master (two masters kept), pairs are
// unordered, and a full cache makes room instead of growing.
import { describe, expect, it } from 'vitest';
import { PairCache, PerMaster } from '../../../server/train/check-caches.js';

describe('PerMaster', () => {
  it('keeps values apart by master and keeps only the two latest masters', () => {
    const c = new PerMaster<number>(10);
    c.set('m1', 'a', 1);
    c.set('m2', 'a', 2);
    expect([c.get('m1', 'a'), c.get('m2', 'a')]).toEqual([1, 2]);
    c.set('m3', 'a', 3);
    expect([c.get('m1', 'a'), c.get('m2', 'a'), c.get('m3', 'a')]).toEqual([undefined, 2, 3]);
  });

  it('drops the older half of a full master, never the value just set', () => {
    const c = new PerMaster<number>(4);
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) c.set('m', k, v);
    c.set('m', 'd', 40); // an update of a present key makes no room
    expect(['a', 'b', 'c', 'd'].map((k) => c.get('m', k))).toEqual([1, 2, 3, 40]);
    c.set('m', 'e', 5);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => c.get('m', k))).toEqual([undefined, undefined, 3, 40, 5]);
    c.clear();
    expect(c.get('m', 'e')).toBeUndefined();
  });
});

describe('PairCache', () => {
  it('answers a pair asked either way round, under its master only', () => {
    const c = new PairCache<string>(10);
    c.set('m', 'b'.repeat(40), 'a'.repeat(40), 'x');
    expect(c.get('m', 'a'.repeat(40), 'b'.repeat(40))).toBe('x');
    expect(c.get('m', 'b'.repeat(40), 'a'.repeat(40))).toBe('x');
    expect(c.get('other', 'a'.repeat(40), 'b'.repeat(40))).toBeUndefined();
  });

  it('starts a master afresh when it is full, and counts an overwrite once', () => {
    const c = new PairCache<number>(3);
    c.set('m', 'a', 'b', 1);
    c.set('m', 'a', 'b', 2);
    c.set('m', 'a', 'c', 3);
    c.set('m', 'b', 'c', 4);
    expect([c.get('m', 'a', 'b'), c.get('m', 'a', 'c'), c.get('m', 'b', 'c')]).toEqual([2, 3, 4]);
    c.set('m', 'c', 'd', 5);
    expect([c.get('m', 'a', 'b'), c.get('m', 'c', 'd')]).toEqual([undefined, 5]);
  });
});
