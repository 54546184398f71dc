// What counts as a loopback address (for "demo passwords only on loopback" and "no cleartext LDAP
// off this machine"), and one spelling of a client's address (or network) for rate-limit keys.
import { isIPv4, isIPv6 } from 'node:net';

/** 127.0.0.0/8, ::1 (any spelling, bracketed or not), IPv4-mapped 127.x, and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) {
    const mapped = /^(?:::|(?:0{1,4}:){5})ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped?.[1] !== undefined) return mapped[1].startsWith('127.');
    return expandIPv6(h) === '0000:0000:0000:0000:0000:0000:0000:0001';
  }
  return false;
}

function expandIPv6(h: string): string | null {
  if (h.includes('.')) return null;
  const halves = h.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...Array<string>(missing).fill('0'), ...tail].map((g) => g.padStart(4, '0')).join(':');
}

/** `::ffff:1.2.3.4` (how Node reports IPv4 clients on a dual-stack socket) becomes `1.2.3.4`. */
export function normalizeRemoteAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return m?.[1] ?? a;
}

/**
 * The client as the login throttle counts it: an IPv4 address as such, an IPv6 address by its /64
 * (one host or home router is usually given a whole /64, so counting single IPv6 addresses would let
 * one machine take 2^64 fresh allowances). Unparseable input is kept as given, lower-cased.
 */
export function throttleAddress(address: string): string {
  const a = normalizeRemoteAddress(address);
  if (!isIPv6(a)) return a;
  if (a === '::1') return a;
  const full = expandIPv6(a.replace(/%.*$/, ''));
  return full ? `${full.split(':').slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64` : a;
}
