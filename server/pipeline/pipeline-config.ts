// The `pipeline:` config section (SPEC §6): which runner runs the train's jobs, the jobs per phase,
// and the limits of the local runner (queue, logs). Absent = no jobs. Checked once at start-up so a
// job that could never run (a `run:` for a Buildbot runner, `{env}` in a build job) stops the server
// with the key path instead of failing on the first push.
import { z } from 'zod';
import { PushmanagerError } from '../../state/pushmanager-error.js';

export const JOB_PHASES = ['build', 'stage', 'bless', 'certify'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

export const PLACEHOLDERS = ['{sha}', '{push}', '{env}', '{branch}'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
/** `{env}` is the stage environment: only a stage or bless job has one. */
const ENV_PHASES: readonly JobPhase[] = ['stage', 'bless'];
const PLACEHOLDER_LIKE = /\{(sha|push|env|branch)\}/;

const jobSchema = z.strictObject({
  /** Names a job in `job list`, logs, refusals, and as a property on Buildbot: no spaces or slashes. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-", at most 64'),
  on: z.enum(JOB_PHASES),
  /** An argument array, never a shell string; the first element is the program (relative to the checkout when it has a slash). */
  run: z.array(z.string().min(1, 'an empty argument')).min(1, 'at least the program to run').max(256).optional(),
  /** The Buildbot builder to force a build on (runner: buildbot). */
  builder: z.string().min(1).max(200).optional(),
  timeoutSec: z.number().int().min(1).max(7 * 24 * 3600).default(3600),
});

export const buildbotRunnerSchema = z.strictObject({
  /** Base URL of the master's web service, e.g. `https://buildbot.example.com`. */
  url: z.url(),
  /** The ForceScheduler builds are forced through (`POST /api/v2/forceschedulers/NAME`). */
  scheduler: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"').default('force'),
  /** How often a running build's state and logs are read. */
  pollMs: z.number().int().min(100).max(60_000).default(2_000),
  /** One REST call's limit. */
  requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

export const externalRunnerSchema = z.strictObject({
  /** Where each queued job is announced: a signed POST (X-Pushmanager-Signature, HMAC-SHA256 of the body). */
  url: z.url({ protocol: /^https?$/ }),
  /** The shared secret of the signature; the CI checks it before it believes an announcement. */
  secret: z.string().min(16, 'at least 16 characters'),
  /** One POST's limit; a receiver that is down is retried with backoff until it answers. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

export const pipelineLogSchema = z.strictObject({
  /** Bytes kept per job: the head and the last `tailBytes`, with a marker for what was left out between. */
  maxBytes: z.number().int().min(4096).max(1024 * 1024 * 1024).default(8 * 1024 * 1024),
  /** The end of a long log is what explains a failure: this much of it is always kept (≤ maxBytes / 2). */
  tailBytes: z.number().int().min(1024).max(512 * 1024 * 1024).default(256 * 1024),
  /** Logs of finished jobs older than this are removed. */
  retentionDays: z.number().int().min(1).max(3650).default(30),
});

export const pipelineConfigSchema = z
  .strictObject({
    runner: z.enum(['local', 'buildbot', 'external']).default('local'),
    /** Local runner: jobs at once (the rest wait in a queue). */
    concurrency: z.number().int().min(1).max(64).default(2),
    jobs: z.array(jobSchema).max(100).default([]),
    /** A failed build job is run this many more times before anyone is blamed. */
    retries: z.number().int().min(0).max(5).default(1),
    onFailure: z.enum(['bisect', 'stop']).default('bisect'),
    /** Remove the culprit bisection finds (false: only name it). */
    autoRemove: z.boolean().default(true),
    /**
     * Bisection candidates run at once. 1 keeps a culprit within ⌈log2 N⌉ + 1 runs; more splits the
     * search (fewer rounds, so less wall time, for more runs: bench/results/bisection.md).
     */
    bisectParallel: z.number().int().min(1).max(16).default(1),
    /** Local runner: after SIGTERM to a job's process group, SIGKILL follows after this long. */
    killGraceSec: z.number().int().min(0).max(600).default(10),
    /** Local runner: variables of the server's environment a job also gets (by name; see docs/decisions.md). */
    passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')).max(100).default([]),
    log: pipelineLogSchema.default(pipelineLogSchema.parse({})),
    buildbot: buildbotRunnerSchema.optional(),
    external: externalRunnerSchema.optional(),
  })
  .superRefine((p, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const seen = new Set<string>();
    p.jobs.forEach((j, i) => {
      if (seen.has(j.name)) issue(['jobs', i, 'name'], `job name "${j.name}" is used twice`);
      seen.add(j.name);
      if (j.run && j.builder) issue(['jobs', i], 'give either run or builder, not both');
      if (p.runner === 'local' && !j.run) issue(['jobs', i, 'run'], 'the local runner needs run: [program, args…]');
      if (p.runner === 'buildbot' && !j.builder) issue(['jobs', i, 'builder'], 'the buildbot runner needs builder: NAME');
      j.run?.forEach((arg, k) => {
        if (PLACEHOLDER_LIKE.test(arg) && !(PLACEHOLDERS as readonly string[]).includes(arg)) {
          issue(['jobs', i, 'run', k], `placeholders are replaced only as whole arguments: write "${PLACEHOLDER_LIKE.exec(arg)![0]}" as an argument of its own`);
        }
        if (arg === '{env}' && !ENV_PHASES.includes(j.on)) issue(['jobs', i, 'run', k], `{env} has no value in a ${j.on} job (only stage and bless jobs have an environment)`);
      });
    });
    if (p.runner === 'buildbot' && !p.buildbot) issue(['buildbot'], 'the buildbot runner needs buildbot: {url, scheduler}');
    if (p.runner === 'external' && !p.external) issue(['external'], 'the external runner needs external: {url, secret} (where jobs are announced)');
    // The search asks for bisectParallel candidates at once because the runner has that room; with less,
    // they only queue, and it makes the runs of a split search without its shorter wait.
    if (p.runner === 'local' && p.bisectParallel > p.concurrency) issue(['bisectParallel'], `at most concurrency (${p.concurrency}): the local runner runs ${p.concurrency} job${p.concurrency === 1 ? '' : 's'} at once, and more candidates at a time would only wait, costing runs for no time saved`);
    if (p.log.tailBytes * 2 > p.log.maxBytes) issue(['log', 'tailBytes'], `at most half of log.maxBytes (${p.log.maxBytes})`);
    for (const name of p.passEnv) if (/^PUSHMANAGER_/.test(name)) issue(['passEnv'], `${name}: PUSHMANAGER_* variables are the server's and never passed to a job`);
  });

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type PipelineJobConfig = PipelineConfig['jobs'][number];
export type BuildbotRunnerConfig = z.infer<typeof buildbotRunnerSchema>;
export type ExternalRunnerConfig = z.infer<typeof externalRunnerSchema>;

/** The values placeholders stand for; `env` only for stage and bless jobs. */
export interface PlaceholderValues {
  readonly sha: string;
  readonly push: number | string;
  readonly branch: string;
  readonly env?: string;
}

export class PlaceholderError extends PushmanagerError {
  readonly code = 'pipeline-placeholder-unset' as const;
  constructor(readonly placeholder: Placeholder, readonly index: number) {
    super(`argument ${index} is ${placeholder}, which has no value for this job`, { placeholder, index });
  }
}

/**
 * `run` with each argument that is exactly a placeholder replaced by its value. An argument that merely
 * contains one is left as written (the config check refuses those), so no value can ever be spliced into
 * another argument or split into two: a branch named `a b` stays one argument.
 */
export function expandArgs(run: readonly string[], values: PlaceholderValues): string[] {
  return run.map((arg, i) => {
    switch (arg) {
      case '{sha}':
        return values.sha;
      case '{push}':
        return String(values.push);
      case '{branch}':
        return values.branch;
      case '{env}':
        if (values.env === undefined) throw new PlaceholderError('{env}', i);
        return values.env;
      default:
        return arg;
    }
  });
}
