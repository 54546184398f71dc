// The `pipeline:` section through the real config parser (YAML text → typed config or ConfigError
// naming the key path), and placeholder expansion.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../server/config/config.js';
import { PlaceholderError, expandArgs } from '../../../server/pipeline/pipeline-config.js';

const issuesOf = (yaml: string): { path: string; message: string }[] => {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('pipeline config', () => {
  it('is optional: absent means the local runner with no jobs', () => {
    const c = parseConfig('server: { port: 0 }\n', 'test.yaml');
    expect(c.pipeline).toMatchObject({ runner: 'local', jobs: [], concurrency: 2, retries: 1, onFailure: 'bisect', autoRemove: true });
    expect(c.pipeline.log).toEqual({ maxBytes: 8 * 1024 * 1024, tailBytes: 256 * 1024, retentionDays: 30 });
  });

  it('reads the SPEC §6 example', () => {
    const c = parseConfig(
      `pipeline:
  runner: local
  concurrency: 3
  jobs:
    - { name: test,   on: build,  run: [npm, test], timeoutSec: 1800 }
    - { name: deploy-stage, on: stage, run: [./deploy.sh, stage, "{env}", "{sha}"] }
    - { name: deploy-prod,  on: bless, run: [./deploy.sh, prod, "{sha}"] }
  retries: 1
  onFailure: bisect
  autoRemove: true
`,
      'test.yaml',
    );
    expect(c.pipeline.concurrency).toBe(3);
    expect(c.pipeline.jobs).toEqual([
      { name: 'test', on: 'build', run: ['npm', 'test'], timeoutSec: 1800 },
      { name: 'deploy-stage', on: 'stage', run: ['./deploy.sh', 'stage', '{env}', '{sha}'], timeoutSec: 3600 },
      { name: 'deploy-prod', on: 'bless', run: ['./deploy.sh', 'prod', '{sha}'], timeoutSec: 3600 },
    ]);
  });

  it('reads a buildbot runner with builders per job', () => {
    const c = parseConfig('pipeline:\n  runner: buildbot\n  buildbot: { url: "https://bb.example.com", scheduler: pm-force }\n  jobs:\n    - { name: unit, on: build, builder: unit-tests }\n', 'test.yaml');
    expect(c.pipeline.buildbot).toEqual({ url: 'https://bb.example.com', scheduler: 'pm-force', pollMs: 2000, requestTimeoutMs: 10_000 });
    expect(c.pipeline.jobs[0]).toMatchObject({ name: 'unit', builder: 'unit-tests' });
  });

  it.each([
    ['an unknown phase', 'pipeline:\n  jobs: [{ name: t, on: deploy, run: [x] }]\n', 'pipeline.jobs[0].on'],
    ['run as a shell string', 'pipeline:\n  jobs: [{ name: t, on: build, run: "npm test" }]\n', 'pipeline.jobs[0].run'],
    ['an unknown key in a job', 'pipeline:\n  jobs: [{ name: t, on: build, run: [x], shell: true }]\n', 'pipeline.jobs[0]'],
    ['a job name with a space', 'pipeline:\n  jobs: [{ name: "my job", on: build, run: [x] }]\n', 'pipeline.jobs[0].name'],
    ['a job name used twice', 'pipeline:\n  jobs: [{ name: t, on: build, run: [x] }, { name: t, on: stage, run: [y] }]\n', 'pipeline.jobs[1].name'],
    ['a local job without run', 'pipeline:\n  jobs: [{ name: t, on: build, builder: b }]\n', 'pipeline.jobs[0].run'],
    ['a buildbot job without builder', 'pipeline:\n  runner: buildbot\n  buildbot: { url: "http://x" }\n  jobs: [{ name: t, on: build, run: [x] }]\n', 'pipeline.jobs[0].builder'],
    ['a buildbot runner without buildbot:', 'pipeline:\n  runner: buildbot\n', 'pipeline.buildbot'],
    ['a placeholder inside an argument', 'pipeline:\n  jobs: [{ name: t, on: build, run: [x, "--rev={sha}"] }]\n', 'pipeline.jobs[0].run[1]'],
    ['{env} in a build job', 'pipeline:\n  jobs: [{ name: t, on: build, run: [x, "{env}"] }]\n', 'pipeline.jobs[0].run[1]'],
    ['a zero timeout', 'pipeline:\n  jobs: [{ name: t, on: build, run: [x], timeoutSec: 0 }]\n', 'pipeline.jobs[0].timeoutSec'],
    ['a log tail larger than half the log', 'pipeline:\n  log: { maxBytes: 10000, tailBytes: 6000 }\n', 'pipeline.log.tailBytes'],
    ['a server variable passed through', 'pipeline:\n  passEnv: [PUSHMANAGER_HOOK_SECRET]\n', 'pipeline.passEnv'],
    ['concurrency 0', 'pipeline:\n  concurrency: 0\n', 'pipeline.concurrency'],
    ['an unknown runner', 'pipeline:\n  runner: jenkins\n', 'pipeline.runner'],
    ['more candidates at once than the local runner has room for', 'pipeline:\n  concurrency: 1\n  bisectParallel: 4\n', 'pipeline.bisectParallel'],
  ])('refuses %s, naming the key', (_what, yaml, path) => {
    const issues = issuesOf(yaml);
    expect(issues.map((i) => i.path)).toContain(path);
  });

  it('says what a count needs in plain words, and lets bisectParallel up to concurrency (and beyond it on a CI of its own)', () => {
    expect(issuesOf('pipeline:\n  bisectParallel: 1.5\n')).toContainEqual({ path: 'pipeline.bisectParallel', message: 'expected a whole number' });
    expect(issuesOf('pipeline:\n  concurrency: 1\n  bisectParallel: 4\n')[0]!.message).toMatch(/^at most concurrency \(1\): the local runner runs 1 job at once/);
    expect(parseConfig('pipeline:\n  concurrency: 4\n  bisectParallel: 4\n', 'test.yaml').pipeline.bisectParallel).toBe(4);
    expect(parseConfig('pipeline:\n  runner: external\n  external: { url: "https://ci.example", secret: "a long shared secret" }\n  bisectParallel: 4\n', 'test.yaml').pipeline.bisectParallel).toBe(4);
  });

  it('says how to write a placeholder that is part of an argument', () => {
    const [issue] = issuesOf('pipeline:\n  jobs: [{ name: t, on: build, run: [x, "--rev={sha}"] }]\n');
    expect(issue!.message).toMatch(/whole arguments.*"\{sha\}"/);
  });
});

describe('expandArgs', () => {
  const values = { sha: 'a'.repeat(40), push: 7, branch: 'deploy/push-7', env: 'stage-a' };
  it('replaces whole arguments only, each by exactly one argument', () => {
    expect(expandArgs(['./deploy.sh', '{env}', '{sha}', '{push}', '{branch}'], values)).toEqual(['./deploy.sh', 'stage-a', values.sha, '7', 'deploy/push-7']);
    expect(expandArgs(['x{sha}', '{sha}x', '{ sha }', '{SHA}', '{{sha}}'], values)).toEqual(['x{sha}', '{sha}x', '{ sha }', '{SHA}', '{{sha}}']);
    expect(expandArgs(['{branch}'], { ...values, branch: 'a b; rm -rf /' })).toEqual(['a b; rm -rf /']);
  });
  it('a value that looks like a placeholder is not expanded again', () => {
    expect(expandArgs(['{env}', '{sha}'], { ...values, env: '{sha}' })).toEqual(['{sha}', values.sha]);
  });
  it('{env} without an environment is a typed error naming the argument', () => {
    const { env: _env, ...noEnv } = values;
    expect(() => expandArgs(['x', '{env}'], noEnv)).toThrow(PlaceholderError);
    try {
      expandArgs(['x', '{env}'], noEnv);
    } catch (e) {
      expect((e as PlaceholderError).code).toBe('pipeline-placeholder-unset');
      expect((e as PlaceholderError).data).toEqual({ placeholder: '{env}', index: 1 });
    }
  });
});
