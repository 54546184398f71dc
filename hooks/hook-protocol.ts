// What the proc-receive hook and the server say to each other over loopback HTTP.

export interface RefCommand {
  readonly oldSha: string;
  readonly newSha: string;
  readonly ref: string;
}

export interface HookRequest {
  readonly user: string;
  readonly commands: readonly RefCommand[];
  readonly options: readonly string[];
  /**
   * git offered the `atomic` capability (`git push --atomic`): every ref is accepted or none is. git's
   * receive-pack leaves this to the hook for the refs it hands over (all of them here), so the server
   * must refuse them all itself. Absent (an older hook): false.
   */
  readonly atomic?: boolean;
}

export type RefResult =
  | { readonly ref: string; readonly ok: true; readonly forcedUpdate?: boolean }
  | { readonly ref: string; readonly ok: false; readonly reason: string };

export interface HookResponse {
  readonly results: readonly RefResult[];
  /** Lines shown to the pusher as `remote:` lines. */
  readonly messages: readonly string[];
}

export const HOOK_PATH = '/_internal/hooks/proc-receive';
export const HOOK_SECRET_HEADER = 'x-pushmanager-hook-secret';

/**
 * Ask for the answer as bytes ready to write (`accept: application/x-pushmanager-hook-report`) instead
 * of JSON, so a hook without a JSON parser (the Perl one) can pass it straight through. The body is
 * `<decimal byte length of the stderr part>\n`, then that many bytes for stderr (the `remote:` lines),
 * then everything else for stdout (the ok/ng pkt-lines and the flush). See `encodeHookReport`.
 * Without that accept header the server answers a `HookResponse` as JSON.
 */
export const HOOK_REPORT_TYPE = 'application/x-pushmanager-hook-report';
