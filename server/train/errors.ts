// Typed failures of the deploy-train machinery, shaped like GitError: a literal code to branch on, data, toJSON().

export type TrainErrorCode = 'bad-identity' | 'bad-message' | 'bad-tag-name' | 'object-writer-failed' | 'unexpected-git-output';

export class TrainError extends Error {
  constructor(
    readonly code: TrainErrorCode,
    message: string,
    readonly data: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TrainError';
  }
  toJSON() {
    return { code: this.code, message: this.message, data: this.data };
  }
}
