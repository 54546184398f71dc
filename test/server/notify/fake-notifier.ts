// A Notifier for outbox tests: records what it sends and fails on demand, like a server that is down.
import type { Channel, Delivery } from '../../../state/notify/delivery.js';
import type { Notifier } from '../../../server/notify/notifier.js';
import { NotifyError } from '../../../server/notify/notify-error.js';

export class FakeNotifier implements Notifier {
  readonly sent: Delivery[] = [];
  /** While true, every send fails (the server is down). */
  down = false;
  /** Fail this many sends, then work. */
  failures = 0;
  /** Addresses refused permanently. */
  refuse: string[] = [];
  closed = false;
  attempts = 0;

  constructor(readonly channel: Channel) {}

  async send(d: Delivery): Promise<void> {
    this.attempts++;
    await new Promise((r) => setImmediate(r));
    if (d.to.some((t) => this.refuse.includes(t))) throw new NotifyError('email-send-failed', `refused ${d.to.join(',')}`, { permanent: true });
    if (this.down) throw new NotifyError('irc-not-ready', `${this.channel} is down`);
    if (this.failures > 0) {
      this.failures--;
      throw new NotifyError('irc-send-failed', `${this.channel} hiccup`);
    }
    this.sent.push(d);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const delivery = (key: string, channel: Channel = 'irc', text = key): Delivery => ({ key, channel, to: [channel === 'irc' ? '#t' : 'x@example.com'], text });
