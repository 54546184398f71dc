// The Notifier port: one adapter per channel (IRC, XMPP, email, log). The outbox drives them.
import type { Channel, Delivery } from '../../state/notify/delivery.js';

export interface Notifier {
  readonly channel: Channel;
  /**
   * Connects (or checks credentials) before the first delivery, so a bad password shows at
   * start-up. Rejects with a NotifyError; optional for adapters with nothing to check.
   */
  start?(): Promise<void>;
  /** Resolves once the server has taken the message; rejects with a NotifyError otherwise. */
  send(d: Delivery): Promise<void>;
  close(): Promise<void>;
}
