// The pushmaster, as an actor: opens each push of the day on schedule, accepts pickmes in rounds
// (removing, with the reason, the ones that conflict), stages, waits for each owner to verify,
// blesses and certifies; every step runs under the exclusive lock so that no engineer's push is in
// flight while the story's expected states move.
import type { Engineers } from './engineers.js';
import type { PushModel, Story } from './workload.js';
import type { World } from './world.js';

export class Pushmaster {
  constructor(
    readonly w: World,
    private readonly engineers: Engineers,
  ) {}

  async runPush(i: number, total: number): Promise<void> {
    const slot = this.w.dayMin / total;
    const openAt = slot * i + slot * 0.05;
    const closeAt = slot * i + slot * 0.6;
    await this.w.until(openAt);
    const title = `Push ${i + 1} of the day`;
    const push = await this.w.lock.write(async () => {
      const before = await this.w.board();
      const known = new Set(before.pushes.map((p) => p.id));
      const r = await this.w.command('pm', { type: 'OpenPush', title, pushType: 'regular' }, { applied: (b) => b.pushes.some((p) => p.title === title && !known.has(p.id)) });
      if (!r.ok) throw new Error(`open push refused: ${r.error?.message}`);
      const b = await this.w.board();
      const p = b.pushes.find((x) => x.title === title && !known.has(x.id));
      if (!p) throw new Error('opened push not on the board');
      const model: PushModel = { id: p.id, title, state: 'accepting', tag: null };
      this.w.pushes.push(model);
      let picked = 0;
      for (const s of this.w.stories)
        if (s.state === 'requested') {
          s.state = 'pickme';
          s.push = p.id;
          s.log.push(`push ${p.id} opened → pickme`);
          picked++;
        }
      this.w.notes.push(`push ${p.id} opened at ${this.w.simNow().toFixed(0)} sim-min with ${picked} waiting requests picked`);
      return model;
    });
    // Accept in rounds while the push is open for pickmes.
    const rounds = 4;
    for (let k = 1; k <= rounds; k++) {
      await this.w.until(openAt + ((closeAt - openAt) * k) / rounds);
      await this.w.lock.write(() => this.acceptRound(push));
    }
    await this.w.lock.write(async () => {
      const staged = this.w.stories.filter((s) => s.push === push.id && s.state === 'added');
      if (!staged.length) {
        const r = await this.w.command('pm', { type: 'DiscardPush', push: push.id, reason: 'nothing accepted' }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'discarded' });
        if (!r.ok) this.w.violation(`discard of empty push ${push.id} refused: ${r.error?.message}`);
        push.state = 'discarded';
        for (const s of this.w.stories) if (s.push === push.id) Object.assign(s, { state: 'requested', push: null });
        return;
      }
      const t = performance.now();
      const r = await this.w.command('pm', { type: 'StagePush', push: push.id, env: 'stage-a' }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'staged', refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up') });
      if (!r.ok) throw new Error(`stage of push ${push.id} refused: ${r.error?.message}`);
      this.w.stageMs.push(performance.now() - t);
      push.state = 'staged';
      for (const s of staged) {
        s.state = 'staged';
        s.log.push(`push ${push.id} staged → staged`);
      }
    });
    if (push.state !== 'staged') return;
    // Each owner verifies their own change on stage, as themselves.
    const toVerify = this.w.stories.filter((s) => s.push === push.id && s.state === 'staged');
    await Promise.all(
      toVerify.map((s) =>
        this.w.verifiers.run(() =>
          this.w.lock.read(() =>
            s.lock.run(async () => {
              const r = await this.w.command(s.user, { type: 'VerifyRequest', request: s.id! }, { applied: (b) => b.requests.find((x) => x.id === s.id)?.state === 'verified' });
              if (!r.ok) {
                this.w.violation(`${s.user} could not verify request ${s.id}: ${r.error?.message}`);
                return;
              }
              if (Number.isFinite(r.ms)) this.w.verifyMs.push(r.ms);
              s.state = 'verified';
              s.log.push('verified by owner');
            }),
          ),
        ),
      ),
    );
    await this.w.lock.write(async () => {
      const r = await this.w.command('pm', { type: 'BlessPush', push: push.id, force: false }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'blessed', refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up') });
      if (!r.ok) throw new Error(`bless of push ${push.id} refused: ${r.error?.message}`);
      push.state = 'blessed';
      for (const s of this.w.stories) if (s.push === push.id && (s.state === 'staged' || s.state === 'verified')) s.state = 'blessed';
      const t = performance.now();
      const c = await this.w.command('pm', { type: 'CertifyPush', push: push.id, force: false }, { applied: (b) => b.pushes.find((p) => p.id === push.id)?.state === 'live', refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up') });
      if (!c.ok) throw new Error(`certify of push ${push.id} refused: ${c.error?.message}`);
      this.w.certifyMs.push(performance.now() - t);
      this.w.masterEpoch++;
      push.state = 'live';
      push.tag = (await this.w.board()).pushes.find((p) => p.id === push.id)?.tag ?? null;
      for (const s of this.w.stories)
        if (s.push === push.id) {
          if (s.state === 'blessed') {
            s.state = 'live';
            s.log.push(`push ${push.id} certified → live`);
            this.w.count('requests live');
          } else {
            s.log.push(`push ${push.id} certified without it (${s.state}) → requested`);
            s.state = 'requested';
            s.push = null;
          }
        }
      this.w.count('pushes certified');
    });
  }

  /** Accept every pickme that merges; remove (with the reason) the ones that do not. */
  async acceptRound(push: PushModel): Promise<void> {
    const board = await this.w.board();
    const pushView = board.pushes.find((p) => p.id === push.id);
    if (!pushView) return;
    const reqs = new Map(board.requests.map((r) => [r.id as number, r]));
    const order = pushView.requests.filter((id) => this.w.byId(id)?.state === 'pickme');
    // Pickmes the server already found in conflict with master cannot merge: out first, with the reason.
    const queue: number[] = [];
    for (const id of order) {
      const r = reqs.get(id)!;
      const s = this.w.byId(id)!;
      const withMaster = r.sha === s.sha ? r.conflicts.find((c) => c.with === 'master') : undefined;
      if (withMaster) await this.remove(push, s, `conflicts with master in ${withMaster.files.join(', ')}; rebase and push again`);
      else queue.push(id);
    }
    for (let i = 0; i < queue.length; ) {
      const chunk = queue.slice(i, i + 25).filter((id) => this.w.byId(id)?.state === 'pickme');
      if (!chunk.length) {
        i += 25;
        continue;
      }
      const t = performance.now();
      const r = await this.w.command('pm', { type: 'AcceptRequests', push: push.id, requests: chunk }, {
        applied: (b) => chunk.every((id) => b.requests.find((x) => x.id === id)?.state === 'added'),
        refused: (e) => (e.code === 'deploy-branch-stale' ? 'retry' : 'give-up'),
      });
      if (r.ok) {
        this.w.acceptMs.push(performance.now() - t);
        this.w.count('accepted');
        for (const id of chunk) {
          const s = this.w.byId(id)!;
          s.state = 'added';
          s.log.push(`accepted into push ${push.id} → added`);
        }
        i += 25;
        continue;
      }
      const failed = Number(r.error?.data.request ?? NaN);
      const s = this.w.byId(failed);
      if (r.error?.code === 'merge-conflict' && s) {
        await this.remove(push, s, `does not merge onto the deploy branch: ${(r.error.data.files as string[] | undefined)?.join(', ') ?? 'conflict'}`);
        queue.splice(queue.indexOf(failed), 1);
        continue;
      }
      this.w.violation(`accept of ${chunk.join(',')} into push ${push.id} refused: ${r.error?.code} ${r.error?.message}`);
      i += 25;
    }
  }

  async remove(push: PushModel, s: Story, reason: string): Promise<void> {
    const r = await this.w.command('pm', { type: 'RemoveRequest', push: push.id, request: s.id!, reason }, { applied: (b) => { const x = b.requests.find((q) => q.id === s.id); return x?.state === 'requested' && x.push === null; } });
    if (!r.ok) {
      this.w.violation(`remove of request ${s.id} from push ${push.id} refused: ${r.error?.message}`);
      return;
    }
    this.w.count('removed for conflicts');
    s.state = 'requested';
    s.push = null;
    s.needsRebase = true;
    s.log.push(`removed from push ${push.id} (${reason}) → requested`);
    // The owner rebases onto master a little later.
    const at = this.w.simNow() + 2 + this.w.rnd() * 13;
    this.w.spawn(this.w.until(at).then(() => this.engineers.repush(s, 'rebase')));
  }
}
