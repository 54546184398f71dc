// What the external CI is told of a stage or bless job (jobAnnouncement, pure): the env the job was queued
// for, not the push's current one, which a later stage may have moved to another environment.
import { describe, expect, it } from 'vitest';
import { jobAnnouncement } from '../../../server/pipeline/external-job-service.js';
import { newJob, type Job } from '../../../state/jobs.js';
import type { Board, Push } from '../../../state/model.js';

const SHA = 'a'.repeat(40);
const board = (stageEnv: string | null): Board => ({ pushes: { 1: { id: 1, deployBranch: 'refs/heads/deploy/push-1', stageEnv } as unknown as Push } } as unknown as Board);
const job = (over: Partial<Job>): Job => ({ ...newJob({ id: '1.4', name: 'deploy-stage', on: 'stage', sha: SHA, push: 1, kind: 'deploy', runner: 'external', at: '2026-01-01T00:00:00.000Z' }), ...over });

describe('the announcement of a deploy job', () => {
  it("names the job's own env; the push's only for a job that has none recorded", () => {
    expect(jobAnnouncement(job({ env: 'stage-b' }), board('stage-a'), 'http://pm', 'now').job.env).toBe('stage-b');
    expect(jobAnnouncement(job({}), board('stage-a'), 'http://pm', 'now').job.env).toBe('stage-a');
    expect(jobAnnouncement(job({ on: 'build', kind: 'build' }), board('stage-a'), 'http://pm', 'now').job.env).toBeUndefined();
  });
});
