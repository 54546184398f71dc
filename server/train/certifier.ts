// The certifier: certify's git work, prepared before the writer decides. Master's next SHA (a
// fast-forward to the deploy branch, or a merge when master moved meanwhile), the annotated tag, and,
// with an upstream, master and the tag pushed there first (atomically, guarded by a lease), so master
// moves here only once upstream has it. The writer then decides CertifyPush with these facts and
// moves master and the tag with the state in one transaction.
import type { CommandOf } from '../../state/commands.js';
import { decide, type Actor } from '../../state/decide.js';
import { domainError, isDomainError, type DomainError } from '../../state/errors.js';
import { requestsInPush } from '../../state/model.js';
import type { Facts } from '../../state/plan.js';
import { safeLine } from '../../state/text.js';
import type { Dispatcher } from '../app/dispatcher.js';
import type { GitRepo } from '../git/git-repo.js';
import { advanceMaster, createAnnotatedTag, tagName } from './certify.js';
import { trainIdentity } from './deploy-builder-service.js';

export interface CertifierOptions {
  readonly repo: GitRepo;
  readonly dispatcher: Dispatcher;
  readonly masterRef: string;
  readonly tagTemplate: string;
  readonly now: () => Date;
  /** master's SHA, fetched from upstream first when one is configured. */
  readonly master: () => Promise<string>;
  /** With an upstream: push master and the tag there first (atomically); a refusal text stops the certify. */
  readonly publishCertified?: (p: { masterSha: string; expectedOld: string; tag: { name: string; objectSha: string } }) => Promise<string | null>;
}

export class Certifier {
  constructor(private readonly o: CertifierOptions) {}

  /** The facts CertifyPush is decided with, or why it cannot be: refused as decide would, or by git or upstream. */
  async prepare(cmd: CommandOf<'CertifyPush'>, actor: Actor): Promise<Facts | DomainError> {
    const snap = await this.o.dispatcher.read();
    const dry = decide(snap.board, cmd, { actor, now: this.o.now().toISOString() });
    if (isDomainError(dry)) return dry;
    const push = snap.board.pushes[cmd.push]!;
    const master = await this.o.master();
    const identity = trainIdentity(this.o.now());
    const adv = await advanceMaster(this.o.repo, {
      masterSha: master,
      baseSha: push.baseSha ?? master,
      deploySha: push.deploySha!,
      message: `Merge ${this.o.masterRef.replace('refs/heads/', '')} into push ${push.id} at certification\n\nMaster moved after the deploy branch was built.\n`,
      identity,
    });
    if (!adv.ok)
      return domainError('merge-conflict', `master moved since push ${push.id} was built and now conflicts with it in ${adv.files.join(', ')}; rebuild the push (pushmanager push rebuild ${push.id}) and stage again`, { push: push.id, files: adv.files });
    const blessed = requestsInPush(snap.board, push.id).filter((r) => r.state === 'blessed');
    const name = await tagName(this.o.tagTemplate, { id: push.id, date: this.o.now() });
    const tagObject = await createAnnotatedTag(this.o.repo, {
      name,
      target: adv.sha,
      message: `Push ${push.id}: ${safeLine(push.title)} (${push.type}), pushmaster ${push.pushmaster}\n\n${blessed.map((r) => `- request ${r.id} ${safeLine(r.title)} (${r.user})`).join('\n')}\n`,
      tagger: identity,
    });
    // A re-push may have rebuilt the deploy branch while the git work ran: never publish the old build.
    if ((await this.o.dispatcher.read()).board.pushes[push.id]?.deploySha !== push.deploySha)
      return domainError('deploy-branch-stale', `the deploy branch of push ${push.id} was rebuilt while it was being certified (a request changed); check it and certify again`, { push: push.id });
    const refused = await this.o.publishCertified?.({ masterSha: adv.sha, expectedOld: master, tag: { name, objectSha: tagObject } });
    if (refused) return domainError('merge-conflict', `upstream refused the certification of push ${push.id}: ${refused}; rebuild (pushmanager push rebuild ${push.id}) and certify again`, { push: push.id });
    return {
      certification: { tag: name, masterSha: adv.sha, deploySha: push.deploySha! },
      refs: [
        { ref: this.o.masterRef, newSha: adv.sha, oldSha: master },
        { ref: `refs/tags/${name}`, newSha: tagObject, oldSha: null },
      ],
    };
  }
}
