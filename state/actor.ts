// Who acts on the board: an authenticated user with roles, or the server itself with a cause.
import type { UserName } from './model.js';

/** The roles a directory grants a user (local config flags or LDAP groups). */
/** `ci`: an external CI's account, the one that may report the results of external pipeline jobs. */
export type UserRole = 'pushmaster' | 'admin' | 'ci';
/** Why the server itself acts: each kind of its own bookkeeping, recorded with what it did. */
export type SystemCause = 'conflict-check' | 'deploy-build' | 'reconcile' | 'checklist' | 'pipeline' | 'upstream';

/**
 * Who acts. A user is whoever the directory authenticated, with the roles it grants; the system is
 * the server's own work. Which one is a matter of the type, never of the name: a user called
 * "pushmanager" is as ordinary as any other.
 */
export type Actor =
  | { readonly kind: 'user'; readonly name: UserName; readonly roles: readonly UserRole[] }
  | { readonly kind: 'system'; readonly cause: SystemCause };
export type UserActor = Extract<Actor, { kind: 'user' }>;

/** The name the audit trail shows for the system (events, removals, the Pushmanager-Actor trailer). */
export const SYSTEM_NAME = 'pushmanager';

export const userActor = (name: UserName, flags: { readonly pushmaster?: boolean; readonly admin?: boolean; readonly ci?: boolean } = {}): UserActor => ({
  kind: 'user',
  name,
  roles: [...(flags.pushmaster ? ['pushmaster' as const] : []), ...(flags.admin ? ['admin' as const] : []), ...(flags.ci ? ['ci' as const] : [])],
});
export const systemActor = (cause: SystemCause): Actor => ({ kind: 'system', cause });
export const isSystem = (a: Actor): a is Extract<Actor, { kind: 'system' }> => a.kind === 'system';
export const hasRole = (a: Actor, role: UserRole): boolean => a.kind === 'user' && a.roles.includes(role);
/** Who to name for an actor: the user's name, or the system's. */
export const actorName = (a: Actor): string => (a.kind === 'system' ? SYSTEM_NAME : a.name);
