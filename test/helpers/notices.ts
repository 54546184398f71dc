// The log channel's notices (data/notifications.log, one JSON line per delivery), as e2e tests read them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LoggedNotice {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/** The notices logged under `dataDir` so far whose subject starts with `subject` (none yet: []). */
export async function loggedNotices(dataDir: string, subject = ''): Promise<LoggedNotice[]> {
  const text = await readFile(join(dataDir, 'notifications.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LoggedNotice)
    .filter((l) => l.subject.startsWith(subject));
}
