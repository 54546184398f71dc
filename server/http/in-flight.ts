// The requests a stopping server lets finish: every POST under way (a push's receive-pack, a fetch's
// upload-pack, a command). Without it a SIGTERM (a restart, a deploy of the server) cut a push in the
// middle: git said "RPC failed" and the pusher had to push again. GETs are not waited for: the board's
// event stream and a followed job log never end by themselves.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class InFlight {
  private readonly open = new Set<ServerResponse>();
  private waiters: (() => void)[] = [];

  /** Tracks `res` until it closes, when `req` is a POST. */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') return;
    this.open.add(res);
    res.once('close', () => {
      this.open.delete(res);
      if (this.open.size === 0) for (const w of this.waiters.splice(0)) w();
    });
  }

  get size(): number {
    return this.open.size;
  }

  /** Resolves once every tracked request has ended, or after `ms`, with how many are still open. */
  async drained(ms: number): Promise<number> {
    if (this.open.size === 0) return 0;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, ms);
      this.waiters.push(done);
    });
    return this.open.size;
  }
}
