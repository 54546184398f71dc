// The pipeline's runner, as the config names it (SPEC §6): local (embedded), buildbot (a real master),
// external (any CI, by webhook and report). Null when no jobs are configured.
import type { Dispatcher } from '../app/dispatcher.js';
import { BuildbotJobService } from './buildbot-job-service.js';
import { ExternalJobService } from './external-job-service.js';
import { JobService } from './job-service.js';
import type { PipelineConfig } from './pipeline-config.js';
import type { PipelineService } from './pipeline-service.js';

export interface PipelineDeps {
  readonly dispatcher: Dispatcher;
  readonly pipeline: PipelineConfig;
  readonly repoDir: string;
  readonly dataDir: string;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export async function createPipeline(d: PipelineDeps): Promise<PipelineService | null> {
  const p = d.pipeline;
  if (p.jobs.length === 0) return null;
  switch (p.runner) {
    case 'local':
      return new JobService({ dispatcher: d.dispatcher, pipeline: p, repoDir: d.repoDir, dataDir: d.dataDir, log: d.log });
    case 'external':
      // The config check makes `external` present for this runner.
      return ExternalJobService.open({ dispatcher: d.dispatcher, external: p.external!, dataDir: d.dataDir, log: d.log });
    case 'buildbot':
      return new BuildbotJobService({ dispatcher: d.dispatcher, pipeline: p, buildbot: p.buildbot!, log: d.log });
  }
}
