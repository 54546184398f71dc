// Why the server could not start, said so that the next step is clear (thrown by server/main.ts).
import { PushmanagerError } from '../state/pushmanager-error.js';

/** host:port cannot be listened on: taken (`port-in-use`), or not allowed or not an address (`listen-failed`). */
export class ListenError extends PushmanagerError {
  constructor(
    readonly code: 'port-in-use' | 'listen-failed',
    message: string,
    data: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }
}

/** The data directory cannot be written (`data-dir-not-writable`) or its disk is full (`data-dir-full`). */
export class DataDirError extends PushmanagerError {
  constructor(
    readonly code: 'data-dir-not-writable' | 'data-dir-full',
    message: string,
    data: Readonly<Record<string, unknown>>,
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }
}
