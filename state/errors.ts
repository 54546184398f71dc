// Expected refusals as values. Each has a literal code callers branch on, and fields for the message.
import type { ErrorJson } from './pushmanager-error.js';

export const DOMAIN_ERROR_CODES = [
  'unknown-request',
  'unknown-push',
  'not-owner',
  'not-owner-or-watcher',
  'not-pushmaster',
  'not-pushmaster-of-push',
  'not-ci',
  'illegal-transition',
  'push-not-accepting',
  'push-already-accepting',
  'ref-owned-by-other',
  'ref-name-clash',
  'ref-not-found',
  'sha-in-use',
  'protected-ref',
  'bad-ref-name',
  'bad-push-option',
  'unknown-user',
  'unverified-requests',
  'open-checklist',
  'merge-conflict',
  'deploy-branch-stale',
  'bisection-stale',
  'bisect-run',
  'deploy-job',
  'builds-failing',
  'jobs-not-green',
  'unknown-job',
  'nothing-to-do',
  'invalid-field',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export interface DomainError {
  readonly kind: 'domain-error';
  readonly code: DomainErrorCode;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export const domainError = (code: DomainErrorCode, message: string, data: Record<string, unknown> = {}): DomainError => ({
  kind: 'domain-error',
  code,
  message,
  data,
});

export const isDomainError = (x: unknown): x is DomainError =>
  typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'domain-error';

/**
 * One rendering of a refusal for the CLI, the dashboard and the actions the board offers: "message [code]".
 * Structural, so a refusal that crossed the wire (the client's ServerRefusal) renders the same way.
 */
export const describeError = (e: { readonly message: string; readonly code: string }): string => `${e.message} [${e.code}]`;

/** A refusal in the one error shape (`ErrorJson`) that thrown errors' `toJSON()` also has: the API's `error` body. */
export const domainErrorJson = (e: DomainError): ErrorJson => ({ code: e.code, message: e.message, data: e.data });
