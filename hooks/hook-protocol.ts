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
