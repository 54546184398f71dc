// isoMillis reads the server's timestamps without the Date global (state/ reads no clock): it must agree
// with Date.parse on every time toISOString() writes, and refuse what it does not write.
import { describe, expect, it } from 'vitest';
import { isoMillis } from '../../state/text.js';

describe('isoMillis', () => {
  it('agrees with Date.parse over four centuries, leap days and the epoch included', () => {
    const fixed = ['1970-01-01T00:00:00.000Z', '2000-02-29T23:59:59.999Z', '1900-03-01T00:00:00.000Z', '2026-12-01T18:03:47.818Z', '2100-02-28T12:00:00.000Z', '1969-12-31T23:59:59.999Z'];
    let x = 12345;
    const random = Array.from({ length: 2000 }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return new Date(-2_208_988_800_000 + (x / 2 ** 31) * 12_600_000_000_000).toISOString();
    });
    for (const s of [...fixed, ...random]) expect(isoMillis(s), s).toBe(Date.parse(s));
    expect(isoMillis('2026-12-01T18:03:47Z')).toBe(Date.parse('2026-12-01T18:03:47Z'));
  });

  it('is NaN for what the server does not write', () => {
    for (const s of ['', 'yesterday', '2026-12-01', '2026-12-01T18:03:47+01:00', '2026-12-01 18:03:47Z']) expect(isoMillis(s), s).toBeNaN();
  });
});
