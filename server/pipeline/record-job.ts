// How every runner's service writes what a job did: one RecordJob through the write path, as the system.
import { systemActor } from '../../state/actor.js';
import { isDomainError } from '../../state/errors.js';
import type { JobEvent } from '../../state/jobs.js';
import type { Dispatcher } from '../app/dispatcher.js';

const ACTOR = systemActor('pipeline');

/**
 * Records `change` for `job`. A change the board no longer takes (the job was cancelled or replaced
 * meanwhile: `illegal-transition`) is dropped quietly; anything else is logged, never thrown, so a
 * runner's callback cannot break on a refused or failed write.
 */
export async function recordJobChange(dispatcher: Dispatcher, log: (level: 'info' | 'warn' | 'error', msg: string) => void, job: string, change: JobEvent): Promise<void> {
  try {
    const out = await dispatcher.execute({ type: 'RecordJob', job, change }, ACTOR, { lane: 'background' });
    if (isDomainError(out) && out.code !== 'illegal-transition') log('warn', `job ${job}: could not record ${change.type}: ${out.message}`);
  } catch (e) {
    log('error', `job ${job}: recording ${change.type} failed: ${(e as Error).message}`);
  }
}
