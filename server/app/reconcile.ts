// On start, make the refs and the state agree again, in case something moved them while the server was
// down or behind its back: an unknown refs/pushreq/* ref becomes a request; a request whose ref is gone
// is withdrawn; a ref that moved updates its request's SHA. Each fix is an ordinary command, committed
// by the system with cause `reconcile` (nobody did it); an adopted ref's owner is recorded as inferred.
import { systemActor } from '../../state/decide.js';
import type { UserName } from '../../state/model.js';
import { isActiveRequest } from '../../state/model.js';
import type { GitCli } from '../git/git-cli.js';
import type { Dispatcher } from './dispatcher.js';

export interface ReconcileReport {
  readonly adopted: string[];
  readonly withdrawn: string[];
  readonly updated: string[];
}

export async function reconcilePushreqRefs(
  git: GitCli,
  dispatcher: Dispatcher,
  ownerOf: (ref: string, sha: string) => Promise<UserName>,
): Promise<ReconcileReport> {
  const system = systemActor('reconcile');
  const out = await git.out(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/pushreq/']);
  const refs = new Map(out.split('\n').filter(Boolean).map((l) => [l.slice(41), l.slice(0, 40)] as const));
  const { board } = await dispatcher.read();
  const report: ReconcileReport = { adopted: [], withdrawn: [], updated: [] };
  const active = Object.values(board.requests).filter(isActiveRequest);
  for (const r of active) {
    const sha = refs.get(r.ref);
    if (sha === undefined) {
      const done = await dispatcher.dispatch({ type: 'WithdrawRequest', ref: r.ref, reason: 'its ref was deleted outside pushmanager (found at start-up)' }, system);
      if ('ok' in done) report.withdrawn.push(r.ref);
    } else if (sha !== r.sha) {
      const done = await dispatcher.dispatch({ type: 'UpdateRequest', ref: r.ref, sha, forced: true }, system);
      if ('ok' in done) report.updated.push(r.ref);
    }
  }
  for (const [ref, sha] of refs) {
    if (active.some((r) => r.ref === ref)) continue;
    const owner = { name: await ownerOf(ref, sha), inferredFrom: 'commit-author' as const };
    const done = await dispatcher.dispatch({ type: 'OpenRequest', ref, sha, autoPickme: true, owner, title: ref.slice('refs/pushreq/'.length), description: 'adopted at start-up: the ref existed without a request' }, system);
    if ('ok' in done) report.adopted.push(ref);
  }
  return report;
}
