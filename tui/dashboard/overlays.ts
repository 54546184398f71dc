// The overlays over the board: a request's detail, the checklist pick list, the help with every key.
import { safeLine, safeText } from '../../state/text.js';
import type { BuildSummary, RequestDetail, RequestLinks, StatusPush } from '../../state/wire.js';
import { KEY_NAMES, type KeyName, type KeyState } from './keys.js';
import { checklistHeading, checklistRow } from './rows.js';
import { buildTone, buildWord, cut, dimLine, heading, pad, wrapSegs, type Line, type Seg, type Tone } from './text.js';


export function detailLines(detail: RequestDetail | null, error: string | null, request: number, width: number, links?: RequestLinks): Line[] {
  if (error) return [heading('d-h', `Request #${request}`), { key: 'd-e', segs: [{ text: safeLine(error), tone: 'error' }] }];
  if (!detail) return [heading('d-h', `Request #${request}`), dimLine('d-l', 'loading…')];
  const r = detail.request;
  const out: Line[] = [];
  const add = (text: string, tone: Tone = 'plain') => out.push({ key: `d${out.length}`, segs: [{ text: cut(text, width) || ' ', tone }] });
  out.push({ key: 'd-h', segs: [{ text: cut(`Request #${r.id}: ${safeLine(r.title)}`, width), tone: 'heading', bold: true }] });
  add(`owner ${safeLine(r.user)} · ${r.state}${detail.push ? ` in push #${detail.push.id} "${safeLine(detail.push.title)}"` : ''} · opened ${r.createdAt}`);
  add(`ref ${safeLine(r.ref)} @ ${r.sha}`);
  add(`tags ${r.tags.map(safeLine).join(', ') || '-'} · watchers ${r.watchers.map(safeLine).join(', ') || '-'}`);
  add(`review ${r.review ? safeLine(r.review) : '-'} · ticket ${r.ticket ? safeLine(r.ticket) : '-'}`);
  if (links) {
    if (links.review) add(`review link ${safeLine(links.review)}${typeof links.shipIts === 'number' ? ` · Ship It ✔${links.shipIts}` : ''}`, 'accent');
    if (links.ticket) add(`ticket link ${safeLine(links.ticket)}`, 'accent');
    const bw = buildWord(links.build);
    if (bw) {
      const b = links.build as Partial<BuildSummary>;
      add(`build ${bw}${typeof b.link === 'string' && b.link ? ` ${safeLine(b.link)}` : ''}${typeof b.error === 'string' && b.error ? ` (${safeLine(b.error)})` : ''}`, buildTone(b));
    }
  }
  if (r.reason) add(`reason: ${safeLine(r.reason)}`, 'warn');
  if (r.conflicts.length) {
    add('Conflicts:', 'conflict');
    for (const c of r.conflicts) add(`  with ${c.with === 'master' ? 'master' : `#${c.with}`}: ${c.files.map(safeLine).join(', ')}`, 'conflict');
  }
  if (r.description) {
    add('');
    for (const l of safeText(r.description).split('\n')) add(`  ${safeLine(l)}`);
  }
  if (r.comments.length) {
    add('');
    add('Comments:', 'heading');
    for (const c of r.comments) add(`  ${c.at.slice(0, 16).replace('T', ' ')} ${safeLine(c.user)}: ${safeLine(c.text)}`);
  }
  add('');
  add('History:', 'heading');
  for (const h of detail.history) add(`  ${h.at.slice(0, 16).replace('T', ' ')} ${pad(safeLine(h.actor), 10)} ${safeLine(h.subject)}`);
  return out;
}

export function checklistOverlay(p: StatusPush | null, push: number, index: number, width: number): Line[] {
  const items = p?.checklist ?? [];
  const out: Line[] = [heading('c-h', `Checklist of push #${push}${p ? ` "${safeLine(p.title)}"` : ''}`)];
  if (!p) return [...out, dimLine('c-none', `push #${push} is no longer open`)];
  out.push(checklistHeading('c-s', items, '  j/k choose · enter/space tick or untick · esc close'));
  items.forEach((i, n) => out.push(checklistRow(i, `c${n}`, width, n === index)));
  return out;
}

/** Every key, one per entry, with why it is unavailable; long entries wrap at a word under their label. */
export function helpLines(keys: Readonly<Record<KeyName, KeyState>>, width: number, color: boolean): Line[] {
  const out: Line[] = [heading('k-h', 'Keys (unavailable ones say why)')];
  const KEY_COL = 9;
  for (const name of KEY_NAMES) {
    const k = keys[name];
    const segs: Seg[] = [
      { text: pad(k.keys, KEY_COL), bold: k.enabled, tone: k.enabled ? 'accent' : 'dim' },
      { text: k.label, tone: k.enabled ? 'plain' : 'dim' },
    ];
    if (!k.enabled) segs.push({ text: ` — ${color ? '' : 'n/a: '}${k.reason ?? ''}`, tone: 'warn' });
    wrapSegs(segs, width, KEY_COL).forEach((l, i) => out.push({ key: `k-${name}-${i}`, segs: l }));
  }
  return out;
}
