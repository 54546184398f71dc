// Certification's git side: master's next SHA (fast-forward to the deploy branch, or a merge when
// master moved meanwhile), the annotated tag object, and tag names from a template. Writes
// objects only; the caller moves master and the tag ref with its state in one transaction.
import { tmpdir } from 'node:os';
import { runGit } from '../git/git-cli.js';
import { TrainError } from './errors.js';
import type { GitRepo } from '../git/git-repo.js';
import type { Identity } from '../git/object-writer.js';

export type AdvanceOutcome = { ok: true; sha: string; fastForward: boolean } | { ok: false; files: string[] };

/**
 * Master's new SHA. When master is still the deploy branch's base (or any ancestor of the deploy
 * tip) it fast-forwards to `deploySha`; otherwise master is merged into the deploy tip (parent 1:
 * deploy tip, parent 2: master) with `message` and `identity`, or the conflicting files are returned.
 */
export async function advanceMaster(
  repo: GitRepo,
  args: { masterSha: string; baseSha: string; deploySha: string; message: string; identity?: Identity },
): Promise<AdvanceOutcome> {
  const { masterSha, baseSha, deploySha } = args;
  if (masterSha === baseSha || masterSha === deploySha) return { ok: true, sha: deploySha, fastForward: true };
  if (await repo.isAncestor(masterSha, deploySha)) return { ok: true, sha: deploySha, fastForward: true };
  const merged = await repo.mergeTree(deploySha, masterSha);
  if (!merged.clean) return { ok: false, files: [...merged.files] };
  const identity = args.identity ?? { name: 'Pushmanager', email: 'pushmanager@localhost', date: new Date().toISOString() };
  const sha = await repo.writeCommit({ tree: merged.tree, parents: [deploySha, masterSha], author: identity, message: args.message });
  return { ok: true, sha, fastForward: false };
}

/** A tag name that git accepts as `refs/tags/<name>`; throws `bad-tag-name` otherwise. */
export async function checkTagName(name: string): Promise<string> {
  // check-ref-format needs no repository; run it in the temp dir so no repository is involved.
  const r = await runGit(tmpdir(), ['check-ref-format', `refs/tags/${name}`], { okCodes: [1] });
  if (r.exitCode !== 0 || name.startsWith('-')) throw new TrainError('bad-tag-name', `not a valid tag name: ${JSON.stringify(name)}`, { name });
  return name;
}

/** YYYYMMDD of a date, in UTC so a push's tag does not depend on the server's time zone. */
export function tagDate(date: Date | string): string {
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) throw new TrainError('bad-tag-name', `not a date: ${String(date)}`, { date: String(date) });
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

/** Fills `{id}` and `{date}` (YYYYMMDD, UTC) in a template; any other `{…}` is an error. Pure. */
export function formatTagName(template: string, vars: { id: number; date: Date | string }): string {
  return template.replace(/\{([^{}]*)\}/g, (whole, key: string) => {
    if (key === 'id') return String(vars.id);
    if (key === 'date') return tagDate(vars.date);
    throw new TrainError('bad-tag-name', `unknown placeholder ${whole} in tag template ${JSON.stringify(template)}`, { template, placeholder: whole });
  });
}

/** A tag name from a template such as `push-{date}-{id}`, validated by `git check-ref-format`. */
export async function tagName(template: string, vars: { id: number; date: Date | string }): Promise<string> {
  return checkTagName(formatTagName(template, vars));
}

/**
 * Writes an annotated tag OBJECT for `target` (an object id; its type is looked up) and returns its id.
 * The name is checked by `git check-ref-format` first. No ref is written.
 */
export async function createAnnotatedTag(repo: GitRepo, args: { name: string; target: string; message: string; tagger?: Identity }): Promise<string> {
  await checkTagName(args.name);
  const tagger = args.tagger ?? { name: 'Pushmanager', email: 'pushmanager@localhost', date: new Date().toISOString() };
  return repo.writeTag({ object: args.target, name: args.name, tagger, message: args.message });
}
