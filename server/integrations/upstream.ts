// The upstream git server (the company's GitHub/GitLab/Gitea) in front of which the managed repo
// sits: master is fetched from it before a deploy branch is built, and certification pushes the
// new master and the push's tag to it in one atomic push guarded by a lease, so a master that
// moved upstream meanwhile is reported and nothing lands.
//
// Credentials never go on a command line (argv is world-readable through `ps`): the token becomes
// an `http.<url>.extraHeader` passed through git's GIT_CONFIG_COUNT/KEY/VALUE environment
// (git ≥ 2.31). A process's environment is readable only by its own user and root. The header is
// scoped to the upstream URL, so git sends it nowhere else; a password written in the configured
// URL is moved into the header the same way and the URL is used without it.
// Talking to upstream (fetch, ls-remote, push) is transport and runs git with the URL; what happens to
// the managed repository's own refs goes through the GitRepo port (server/git/git-repo.ts).
import type { GitCli } from '../git/git-cli.js';
import { GitError } from '../git/git-cli.js';
import type { GitRepo, RefChanged, RefTransactionResult } from '../git/git-repo.js';
import { IntegrationError } from './integration-error.js';

export const DEFAULT_TOKEN_ENV = 'PUSHMANAGER_UPSTREAM_TOKEN';

export interface UpstreamOptions {
  /** The upstream repository's URL, e.g. `https://github.com/acme/web.git`. */
  readonly url: string;
  /** User name for Basic auth with the token (GitHub accepts any; GitLab wants `oauth2`). Default `x-access-token`. */
  readonly username?: string;
  /** The token itself; prefer `tokenEnv`, which keeps it out of the config file. */
  readonly token?: string;
  /** Environment variable holding the token (default PUSHMANAGER_UPSTREAM_TOKEN). */
  readonly tokenEnv?: string;
  /** Where `tokenEnv` is read (default `process.env`); injected by tests. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Abort a transfer slower than 1 kB/s for this long (default 60 s): a hung upstream must not hang certification. */
  readonly stallTimeoutSec?: number;
}

export type UpstreamPushResult =
  | { readonly ok: true; /** The same master and tag were already there (a retried certification). */ readonly alreadyThere: boolean }
  | { readonly ok: false; readonly code: 'upstream-moved' | 'upstream-unreachable' | 'upstream-rejected'; readonly message: string };

export interface CertifiedPush {
  readonly master: { readonly sha: string; /** Upstream master's SHA when we last fetched it; null: it must not exist yet. */ readonly expectedOld: string | null; readonly branch?: string };
  readonly tag: { readonly name: string; /** The annotated tag object (or a commit, for a lightweight tag). */ readonly objectSha: string };
}

export const trackingRef = (branch: string): string => `refs/pushmanager/upstream/${branch}`;

/** Where the local master stands after following upstream: moved (or already there), or left alone because it moved meanwhile. */
export type FollowMasterResult = { readonly ok: true; readonly sha: string; readonly previous: string | null } | RefChanged;

/** Moves master from `from` (null: absent) to `to` by compare-and-swap; a lost one is RefChanged and moves nothing. */
export type MoveMaster = (m: { readonly ref: string; readonly from: string | null; readonly to: string }) => Promise<RefTransactionResult>;

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Last lines of git's stderr, for a message; git prints no credentials since none are in its arguments. */
const tail = (stderr: string): string => stderr.trim().split('\n').filter((l) => l.trim()).slice(-3).join(' | ');

export class Upstream {
  /** The URL as used on git's command line: without any user or password. */
  readonly url: string;
  private readonly authHeader: string | null;
  private readonly stallTimeoutSec: number;

  constructor(opts: UpstreamOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.url);
    } catch (e) {
      throw new IntegrationError('integration-bad-argument', 'upstream', `upstream: not a URL: ${opts.url.replace(/\/\/[^@/]*@/, '//***@')}`, {}, { cause: e });
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      // ssh and file URLs authenticate by other means (keys, file permissions): no header to add.
      this.url = opts.url;
      this.authHeader = null;
    } else {
      const urlUser = decodeURIComponent(parsed.username);
      const urlPassword = decodeURIComponent(parsed.password);
      parsed.username = '';
      parsed.password = '';
      this.url = parsed.toString();
      const env = opts.env ?? process.env;
      const token = opts.token ?? env[opts.tokenEnv ?? DEFAULT_TOKEN_ENV] ?? (urlPassword || undefined);
      const user = opts.username ?? (urlUser || 'x-access-token');
      this.authHeader = token ? `Authorization: Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` : null;
    }
    this.stallTimeoutSec = opts.stallTimeoutSec ?? 60;
  }

  /** Environment for a git call that talks to upstream: the auth header and stall limits, nothing on argv. */
  gitEnv(): Record<string, string> {
    const env: Record<string, string> = { GIT_HTTP_LOW_SPEED_LIMIT: '1000', GIT_HTTP_LOW_SPEED_TIME: String(this.stallTimeoutSec) };
    if (this.authHeader) {
      env.GIT_CONFIG_COUNT = '1';
      env.GIT_CONFIG_KEY_0 = `http.${this.url}.extraHeader`;
      env.GIT_CONFIG_VALUE_0 = this.authHeader;
    }
    return env;
  }

  /**
   * Fetches upstream's master into `refs/pushmanager/upstream/<branch>` of the managed repo and
   * returns its SHA. Rejects with an IntegrationError: `integration-unreachable`,
   * `integration-auth-failed` or `integration-not-found` (no such branch upstream).
   */
  fetchMaster(git: GitCli, masterBranch = 'master'): Promise<string> {
    // One fetch at a time: two fetches into the same tracking ref race in git's own compare-and-swap
    // ("cannot lock ref … is at X but expected Y"), and the loser would fail a build or a certify.
    const run = this.fetching.then(() => this.fetchOnce(git, masterBranch));
    this.fetching = run.catch(() => undefined);
    return run;
  }

  private fetching: Promise<unknown> = Promise.resolve();

  private async fetchOnce(git: GitCli, masterBranch: string): Promise<string> {
    const ref = trackingRef(masterBranch);
    try {
      await git.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', this.url, `+refs/heads/${masterBranch}:${ref}`], { env: this.gitEnv() });
    } catch (e) {
      throw this.fetchError(e, masterBranch);
    }
    const sha = await git.resolve(ref);
    if (!sha) throw new IntegrationError('integration-bad-response', 'upstream', `upstream: fetched ${masterBranch} but ${ref} does not resolve`, { ref });
    return sha;
  }

  /**
   * Makes the managed repository's master follow upstream's: fetches it, then moves master with a
   * compare-and-swap from the value it had before the fetch. A master moved meanwhile (a certification
   * landing its merge) is left as it is and answered with RefChanged, never overwritten; the next
   * refresh fetches again. Fetch failures reject as `fetchMaster`'s do.
   * `move` moves master when it must (by default a bare compare-and-swap on the repository); the server
   * passes one that records the move on the board with the ref in the same commit.
   */
  async followMaster(git: GitCli, repo: GitRepo, masterBranch = 'master', move?: MoveMaster): Promise<FollowMasterResult> {
    const masterRef = `refs/heads/${masterBranch}`;
    const previous = await repo.readRef(masterRef);
    const sha = await this.fetchMaster(git, masterBranch);
    if (previous === sha) return { ok: true, sha, previous };
    const moved = await (move ?? ((m) => repo.updateRefs([{ ref: m.ref, newSha: m.to, oldSha: m.from }])))({ ref: masterRef, from: previous, to: sha });
    return moved.ok ? { ok: true, sha, previous } : moved;
  }

  /** Upstream's current SHAs of some refs (`git ls-remote`); absent refs are missing from the map. */
  async lsRemote(git: GitCli, refs: readonly string[]): Promise<Map<string, string>> {
    try {
      const r = await git.run(['ls-remote', '--', this.url, ...refs], { env: this.gitEnv() });
      const out = new Map<string, string>();
      for (const line of r.stdout.split('\n')) {
        const [sha, ref] = line.split('\t');
        if (sha && ref) out.set(ref, sha);
      }
      return out;
    } catch (e) {
      throw this.fetchError(e, refs.join(' '));
    }
  }

  /**
   * `git push --atomic --force-with-lease=refs/heads/master:<expectedOld> <url> <sha>:refs/heads/master <tag>:refs/tags/<name>`:
   * both refs land or neither. The lease makes a master that moved upstream since the fetch a
   * refusal (`upstream-moved`) instead of an overwrite; the new master must descend from the
   * expected one, so the lease's implied force can never drop upstream history. Never rejects.
   * The tracking ref then moves to the new master by compare-and-swap from what it was before the
   * push: a fetch that landed meanwhile (newer by construction) is kept.
   */
  async pushCertified(git: GitCli, repo: GitRepo, p: CertifiedPush): Promise<UpstreamPushResult> {
    const branch = p.master.branch ?? 'master';
    const { sha, expectedOld } = p.master;
    if (!SHA.test(sha) || (expectedOld !== null && !SHA.test(expectedOld)) || !SHA.test(p.tag.objectSha)) {
      return { ok: false, code: 'upstream-rejected', message: 'certified push needs full SHAs for master, its expected old value and the tag' };
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(p.tag.name) || p.tag.name.includes('..')) {
      return { ok: false, code: 'upstream-rejected', message: `not a tag name: ${JSON.stringify(p.tag.name)}` };
    }
    try {
      if (expectedOld !== null && expectedOld !== sha) {
        if (!(await repo.isAncestor(expectedOld, sha))) return { ok: false, code: 'upstream-rejected', message: `${sha.slice(0, 12)} does not descend from upstream ${branch} ${expectedOld.slice(0, 12)}; refusing to rewrite upstream history` };
      }
      const masterRef = `refs/heads/${branch}`;
      const tagRef = `refs/tags/${p.tag.name}`;
      const tracking = trackingRef(branch);
      const trackedBefore = await repo.readRef(tracking);
      const r = await git.run(
        ['push', '--atomic', '--porcelain', '--no-verify', `--force-with-lease=${masterRef}:${expectedOld ?? ''}`, '--', this.url, `${sha}:${masterRef}`, `${p.tag.objectSha}:${tagRef}`],
        { env: this.gitEnv(), okCodes: [1, 128] },
      );
      // Porcelain lines: "<flag>\t<from>:<to>\t<summary>"; "!" marks a refused ref, "=" one already up to date.
      const lines = r.stdout.split('\n').filter((l) => /^[ +\-*!=]\t/.test(l));
      if (r.exitCode === 0) {
        await this.track(repo, tracking, trackedBefore, sha);
        // Both refs already there (a retried certification): git checks no lease when it has nothing to push.
        return { ok: true, alreadyThere: lines.length > 0 && lines.every((l) => l.startsWith('=\t')) };
      }
      const refused = lines.filter((l) => l.startsWith('!\t')).map((l) => l.split('\t'));
      if (refused.length === 0) return { ok: false, code: 'upstream-unreachable', message: `cannot push to ${this.url}: ${tail(r.stderr)}` };
      const reasons = refused.map(([, refs, summary]) => `${refs?.split(':')[1] ?? '?'} ${summary ?? ''}`.trim()).filter((s) => !s.includes('atomic push failed'));
      if (refused.some(([, , summary]) => summary?.includes('stale info'))) {
        // A retry whose master landed but whose lease is now stale: the result is upstream already.
        const now = await this.lsRemote(git, [masterRef, tagRef]);
        if (now.get(masterRef) === sha && now.get(tagRef) === p.tag.objectSha) {
          await this.track(repo, tracking, trackedBefore, sha);
          return { ok: true, alreadyThere: true };
        }
        const current = now.get(masterRef);
        return { ok: false, code: 'upstream-moved', message: `upstream ${branch} is ${current ? current.slice(0, 12) : 'gone'}, expected ${expectedOld ? expectedOld.slice(0, 12) : 'no branch'}: fetch, rebuild and certify again` };
      }
      return { ok: false, code: 'upstream-rejected', message: `upstream refused the push: ${reasons.join('; ') || tail(r.stderr)}` };
    } catch (e) {
      const msg = e instanceof IntegrationError || e instanceof GitError ? e.message : String(e);
      return { ok: false, code: 'upstream-unreachable', message: msg };
    }
  }

  /** The tracking ref to what upstream now has, unless something (a fetch) moved it since `before`; it then says what upstream had later. */
  private async track(repo: GitRepo, ref: string, before: string | null, sha: string): Promise<void> {
    if (before === sha) return;
    await repo.updateRefs([{ ref, newSha: sha, oldSha: before }]);
  }

  private fetchError(e: unknown, what: string): IntegrationError {
    if (!(e instanceof GitError)) return new IntegrationError('integration-unreachable', 'upstream', `upstream: ${e instanceof Error ? e.message : String(e)}`, { url: this.url }, { cause: e });
    const s = e.stderr;
    const code = /couldn't find remote ref|not found in upstream/i.test(s)
      ? 'integration-not-found'
      : /Authentication failed|HTTP 40[13]|returned error: 40[13]|could not read Username|Permission denied/i.test(s)
        ? 'integration-auth-failed'
        : 'integration-unreachable';
    return new IntegrationError(code, 'upstream', `upstream ${this.url} (${what}): ${tail(s)}`, { url: this.url, exitCode: e.exitCode }, { cause: e });
  }
}
