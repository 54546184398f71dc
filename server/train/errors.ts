// Typed failures of the deploy-train machinery: a literal code to branch on, data, toJSON() (state/pushmanager-error.ts).
import { PushmanagerError } from '../../state/pushmanager-error.js';

export type TrainErrorCode = 'bad-identity' | 'bad-message' | 'bad-tag-name' | 'object-writer-failed' | 'unexpected-git-output' | 'master-ref-missing';

export class TrainError extends PushmanagerError {
  constructor(
    readonly code: TrainErrorCode,
    message: string,
    data: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }
}
