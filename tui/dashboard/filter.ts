// The filter language of the dashboard's `/`: text anywhere, owner:NAME or @NAME, tag:TAG, #ID.
import type { StatusRequest } from '../../state/wire.js';

/** Every whitespace-separated term must match: owner:NAME / @NAME, tag:TAG, #ID, or text anywhere. */
export function matchesFilter(r: StatusRequest, filter: string): boolean {
  const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
  return terms.every((t) => {
    if (t.startsWith('owner:') || t.startsWith('@')) return r.user.toLowerCase().includes(t.replace(/^(owner:|@)/, ''));
    if (t.startsWith('tag:')) return r.tags.some((g) => g.toLowerCase() === t.slice(4));
    if (/^#[0-9]+$/.test(t)) return r.id === Number(t.slice(1));
    return [r.title, r.user, r.ref, ...r.tags, r.review ?? '', r.ticket ?? ''].some((f) => f.toLowerCase().includes(t));
  });
}
