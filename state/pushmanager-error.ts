// The one base of every error pushmanager throws (infrastructure failures: git, the store, the network,
// config, the HTTP client). Shaped like isomorphic-git's errors: a literal `code` callers branch on, structured
// `data` for the message's facts, the ES2022 `cause`, and `toJSON()`. It lives in state/ because every layer
// (server, hooks, clients) may import state/, and a class with no I/O keeps state/ pure.
//
// Expected refusals are not thrown: they are `DomainError` values (state/errors.ts). Both serialise to the
// same shape, `ErrorJson`, so the HTTP API, logs and clients read one format.

/** What an error looks like on the wire and in logs: the same for thrown errors and domain refusals. */
export interface ErrorJson {
  readonly code: string;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** The error this one wraps, when it is one of ours (a foreign cause stays on `.cause` only). */
  readonly cause?: ErrorJson;
}

export abstract class PushmanagerError extends Error {
  /** The literal callers branch on (never the message text). */
  abstract readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(message: string, data: Readonly<Record<string, unknown>> = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    // The subclass's own name (GitError, StoreError …) in stacks and `String(e)`.
    this.name = new.target.name;
    this.data = data;
  }

  toJSON(): ErrorJson {
    const json = { code: this.code, message: this.message, data: this.data };
    return this.cause instanceof PushmanagerError ? { ...json, cause: this.cause.toJSON() } : json;
  }
}

export const isPushmanagerError = (e: unknown): e is PushmanagerError => e instanceof PushmanagerError;

/** The errors from `e` down its `cause` links, outermost first (stops at a cycle). */
export function causeChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let x: unknown = e; x !== undefined && x !== null && !chain.includes(x); x = (x as { cause?: unknown }).cause) chain.push(x);
  return chain;
}
