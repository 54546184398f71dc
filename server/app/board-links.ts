// What the board shows from the company's other systems: review and ticket links, Reviewboard's Ship It
// count, Buildbot results for a request's SHA (tagged `buildbot`) and for each open push's deploy branch.
// Never slows the board down: each lookup gets a short budget and shows as unknown past it.
import { IN_PUSH_STATES, isOpenPush } from '../../state/model.js';
import type { StatusView } from '../../state/status-view.js';
import type { RequestLinks } from '../../state/wire.js';
import type { Integrations } from '../integrations/integrations-config.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const within = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> =>
  Promise.race([p.catch(() => fallback), new Promise<T>((r) => setTimeout(() => r(fallback), ms).unref())]);

export function boardLinks(i: Integrations) {
  return async (view: StatusView): Promise<StatusView & { links: Record<number, RequestLinks>; builds: Record<number, unknown> }> => {
    const links: Record<number, RequestLinks> = {};
    const builds: Record<number, unknown> = {};
    await Promise.all([
      ...view.requests.map(async (r) => {
        const l: Writable<RequestLinks> = {};
        if (r.review && i.reviewboard) {
          l.review = i.reviewboard.reviewUrl(r.review);
          if (IN_PUSH_STATES.includes(r.state)) l.shipIts = await within(i.reviewboard.shipItCount(r.review), 300, null);
        }
        if (r.ticket && i.tickets) l.ticket = i.tickets.url(r.ticket);
        if (i.buildbot && r.tags.includes('buildbot')) l.build = await within<unknown>(i.buildbot.status(r.sha), 300, { state: 'unknown', error: 'buildbot is slow to answer' });
        if (Object.keys(l).length) links[r.id] = l;
      }),
      ...view.pushes
        .filter((p) => p.deploySha && isOpenPush(p) && i.buildbot)
        .map(async (p) => {
          builds[p.id] = await within<unknown>(i.buildbot!.status(p.deploySha!), 300, { state: 'unknown', error: 'buildbot is slow to answer' });
        }),
    ]);
    return { ...view, links, builds };
  };
}
