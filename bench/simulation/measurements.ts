// What the simulation measures besides the actors' own timings: the server process sampled each
// second (RSS, CPU, write-queue depth), its /metrics histograms banked across restarts, and a
// baseline of plain `git push` to a bare repository behind http-backend under the same load.
import { join } from 'node:path';
import { percentile } from '../lib/bench-row.js';
import { addHistogram, git, run, scrapeMetrics } from '../lib/proc.js';
import { startPlainGitServer } from '../lib/plain-git-server.js';
import { sleep } from '../lib/sync.js';
import type { World } from './world.js';

export class Measurements {
  constructor(readonly w: World) {}

  async baseline(): Promise<void> {
    const bare = join(this.w.dir, 'plain', 'main.git');
    await git(this.w.dir, ['clone', '-q', '--bare', this.w.gitDir, bare]);
    const plain = await startPlainGitServer(bare);
    const work = join(this.w.dir, 'plain-clone');
    await git(this.w.dir, ['clone', '-q', '--no-checkout', plain.url, work]);
    const head = await git(work, ['rev-parse', 'HEAD']);
    const tree = await git(work, ['rev-parse', 'HEAD^{tree}']);
    try {
      for (let i = 0; !this.w.stopping; i++) {
        const sha = await git(work, ['commit-tree', tree, '-p', head, '-m', `baseline ${i}`], {}, this.w.o.clientNice);
        const r = await run('git', ['push', '--porcelain', plain.url, `${sha}:refs/heads/b${i}`], { cwd: work, timeoutMs: 60_000, nice: this.w.o.clientNice });
        if (r.code === 0 && i >= 2) this.w.plainMs.push(r.ms);
        await sleep(1500 + this.w.rnd() * 1000);
      }
    } finally {
      await plain.close();
    }
  }


  async sampler(): Promise<void> {
    let tick = 0;
    while (!this.w.stopping) {
      const st = this.w.server.stats();
      if (st) this.take(st);
      if (this.w.up.isOpen) {
        // /metrics every 5 s (rendering it is work the server would not do every second in production,
        // where Prometheus scrapes every 15-60 s), and just before each kill; the queue depth every second.
        if (tick % 5 === 0) await this.scrape();
        try {
          const h = (await (await fetch(`${this.w.server.url}/healthz`)).json()) as { pending?: number };
          if (typeof h.pending === 'number') this.w.queueDepth.push(h.pending);
        } catch {
          /* killed meanwhile */
        }
      }
      if (++tick % 30 === 0)
        process.stderr.write(
          `simulate: ${this.w.simNow().toFixed(0)}/${this.w.dayMin} sim-min · ${this.w.counts['requests opened'] ?? 0} opened · ${this.w.counts['requests live'] ?? 0} live · ${this.w.counts['pushes certified'] ?? 0} pushes certified · ${this.w.kills} kills · p95 push ${percentile(this.w.pushMs, 95).toFixed(0)} ms · server ${this.w.up.isOpen ? 'up' : 'down'}\n`,
        );
      await sleep(1000);
    }
  }

  /** The server's histograms so far, kept until the process ends (bank). */
  async scrape(): Promise<void> {
    const m = await scrapeMetrics(this.w.server.url);
    if (m) this.w.lastScrape = m;
  }

  /** One sample of the server process (a process on its way out may have no memory figures). */
  take(st: { rssKb: number; hwmKb: number; cpuMs: number }): void {
    if (Number.isFinite(st.rssKb)) this.w.rssMaxKb = Math.max(this.w.rssMaxKb, st.rssKb);
    if (Number.isFinite(st.hwmKb)) this.w.hwmMaxKb = Math.max(this.w.hwmMaxKb, st.hwmKb);
    if (Number.isFinite(st.cpuMs) && st.cpuMs >= this.w.cpuMsCurrent) this.w.cpuMsCurrent = st.cpuMs;
  }

  /** The end of one server process: keep its last figures. */
  bank(): void {
    this.w.cpuMsDone += this.w.cpuMsCurrent;
    this.w.cpuMsCurrent = 0;
    if (this.w.lastScrape) for (const [k, h] of this.w.lastScrape) this.w.metrics.set(k, addHistogram(this.w.metrics.get(k), h));
    this.w.lastScrape = null;
  }
}
