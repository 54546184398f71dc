// Failures of the single writer that are not refusals: the board could not be written at all.
import { PushmanagerError } from '../../state/pushmanager-error.js';

/**
 * `commit-retries-exhausted`: every compare-and-swap attempt lost to another writer (or the store kept
 * saying the version moved), so nothing was recorded. `no-commands`: a caller asked to commit nothing (a bug).
 * `no-preparer`: a command needs git work and the dispatcher was built without a preparer (a wiring bug).
 * `prepare-rounds-exhausted`: the facts prepared outside the writer kept going stale as the board changed.
 */
export class DispatchError extends PushmanagerError {
  constructor(
    readonly code: 'commit-retries-exhausted' | 'no-commands' | 'no-preparer' | 'prepare-rounds-exhausted' | 'follow-upstream-refused',
    message: string,
    data: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, data);
  }
}
