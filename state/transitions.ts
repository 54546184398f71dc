// The one table of legal transitions and who may make them (SPEC §2). decide() consults only this table.
import type { PushState, RequestState } from './model.js';

/** Who may act: roles are relative to the request or push the command names. */
export type Role =
  | 'anyone' // any authenticated engineer
  | 'owner'
  | 'watcher'
  | 'pushmaster' // anyone in the pushmaster group
  | 'pushmaster-of-push' // the push's own pushmaster
  | 'server'; // the server's own findings (conflicts, builds)

export interface RequestTransition {
  readonly from: readonly RequestState[];
  /** null: the state does not change (a re-push, an edit, a comment). */
  readonly to: RequestState | null;
  readonly who: readonly Role[];
}

const IN_PUSH: readonly RequestState[] = ['pickme', 'added', 'staged', 'verified', 'blessed'];
const ACTIVE: readonly RequestState[] = ['requested', 'pickme', 'added', 'staged', 'verified', 'blessed', 'delayed'];

export const REQUEST_TRANSITIONS = {
  open: { from: [], to: 'requested', who: ['anyone'] }, // or straight to pickme when a push is accepting
  repush: { from: ACTIVE, to: null, who: ['owner'] },
  edit: { from: ACTIVE, to: null, who: ['owner', 'watcher', 'pushmaster-of-push'] },
  comment: { from: [...ACTIVE, 'live', 'discarded'], to: null, who: ['anyone'] },
  withdraw: { from: ['requested', 'pickme', 'added', 'delayed'], to: 'discarded', who: ['owner'] },
  pickme: { from: ['requested'], to: 'pickme', who: ['owner', 'watcher'] },
  unpickme: { from: ['pickme'], to: 'requested', who: ['owner', 'watcher'] },
  accept: { from: ['pickme'], to: 'added', who: ['pushmaster-of-push'] },
  remove: { from: IN_PUSH, to: 'requested', who: ['pushmaster-of-push'] },
  stage: { from: ['added'], to: 'staged', who: ['pushmaster-of-push'] },
  verify: { from: ['staged'], to: 'verified', who: ['owner', 'watcher', 'pushmaster-of-push'] },
  bless: { from: ['staged', 'verified'], to: 'blessed', who: ['pushmaster-of-push'] },
  certify: { from: ['blessed'], to: 'live', who: ['pushmaster-of-push'] },
  returnFromPush: { from: IN_PUSH, to: 'requested', who: ['pushmaster-of-push'] }, // push discarded, or left-over pickme at certify
  delay: { from: ['requested', 'pickme'], to: 'delayed', who: ['owner', 'pushmaster-of-push'] },
  undelay: { from: ['delayed'], to: 'requested', who: ['owner'] },
  discard: { from: ['requested', 'delayed'], to: 'discarded', who: ['owner'] },
  recordConflicts: { from: ACTIVE, to: null, who: ['server'] },
  drop: { from: ['added', 'staged', 'verified', 'blessed'], to: 'pickme', who: ['server'] }, // no longer merges at rebuild
} as const satisfies Record<string, RequestTransition>;

export type RequestAction = keyof typeof REQUEST_TRANSITIONS;

export interface PushTransition {
  readonly from: readonly PushState[];
  readonly to: PushState | null;
  readonly who: readonly Role[];
}

const OPEN_PUSH: readonly PushState[] = ['accepting', 'staged', 'blessed'];

export const PUSH_TRANSITIONS = {
  open: { from: [], to: 'accepting', who: ['pushmaster'] },
  accept: { from: ['accepting'], to: null, who: ['pushmaster-of-push'] },
  remove: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  rebuild: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  stage: { from: ['accepting', 'staged'], to: 'staged', who: ['pushmaster-of-push'] },
  bless: { from: ['staged'], to: 'blessed', who: ['pushmaster-of-push'] },
  certify: { from: ['blessed'], to: 'live', who: ['pushmaster-of-push'] },
  discard: { from: OPEN_PUSH, to: 'discarded', who: ['pushmaster-of-push'] },
  message: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  pingme: { from: OPEN_PUSH, to: null, who: ['anyone'] },
  takeOver: { from: OPEN_PUSH, to: null, who: ['pushmaster'] },
  tick: { from: OPEN_PUSH, to: null, who: ['pushmaster-of-push'] },
  recordBuild: { from: OPEN_PUSH, to: null, who: ['server'] },
} as const satisfies Record<string, PushTransition>;

export type PushAction = keyof typeof PUSH_TRANSITIONS;
