// What the pushmaster just did to the signed-in user's requests (their own or watched), said on the
// status line as the live board brings it: a pushee otherwise sees a row change section (or drop to
// WAITING) with nothing saying why or what to do next (v once staged). Pure: two boards in, one line out.
import type { StatusView } from '../../state/status-view.js';
import { safeLine } from '../../state/text.js';
import { ownerOrWatcher } from './rows.js';
import type { Me } from './ui-state.js';

type Req = StatusView['requests'][number];

/**
 * One sentence for the steps a pushmaster other than `me` took on `me`'s requests between `prev` and
 * `next`, or null. The steps a pushee takes (pickme, unpickme, verify, delay) are left out: the answer
 * to their own key already said them.
 */
export function changesForMe(prev: StatusView, next: StatusView, me: Me): string | null {
  const before = new Map(prev.requests.map((r) => [r.id, r]));
  const said = new Map<string, Req[]>();
  const add = (what: string, r: Req) => said.set(what, [...(said.get(what) ?? []), r]);
  for (const r of next.requests) {
    const was = before.get(r.id);
    if (!was || !ownerOrWatcher(r, me)) continue;
    const pushId = r.push ?? was.push;
    const p = next.pushes.find((x) => x.id === pushId) ?? prev.pushes.find((x) => x.id === pushId);
    if (!p || p.pushmaster === me.name) continue;
    const by = safeLine(p.pushmaster);
    if (r.state === 'requested' && r.reason && r.reason !== was.reason) add(`removed from push ${p.id} by ${by}: ${safeLine(r.reason)}`, r);
    else if (r.state === was.state) continue;
    else if (r.state === 'added') add(`accepted into push ${p.id} by ${by}`, r);
    else if (r.state === 'staged') add(`staged on ${safeLine(p.stageEnv ?? 'stage')}: try it there, then v verifies it`, r);
    else if (r.state === 'blessed') add(`blessed: push ${p.id} goes to production`, r);
    else if (r.state === 'live') add(`live: push ${p.id} certified`, r);
    else if (r.state === 'discarded') add(`discarded${r.reason ? `: ${safeLine(r.reason)}` : ''}`, r);
  }
  if (!said.size) return null;
  return [...said].map(([what, rs]) => `${rs.length === 1 ? `#${rs[0]!.id} "${safeLine(rs[0]!.title)}"` : rs.map((r) => `#${r.id}`).join(', ')} ${what}`).join('; ');
}
