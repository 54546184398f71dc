// In-process publish/subscribe for what the dashboard and other listeners want to hear about live.
import { EventEmitter } from 'node:events';

export type BusMessage =
  | { readonly kind: 'commit'; readonly version: string; readonly command: string; readonly actor: string; readonly events: readonly string[]; readonly external?: boolean }
  | { readonly kind: 'progress'; readonly push: number; readonly task: 'rebuild' | 'conflicts'; readonly done: number; readonly total: number }
  | { readonly kind: 'notice'; readonly text: string };

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(1000);
  }
  publish(m: BusMessage): void {
    this.emitter.emit('message', m);
  }
  subscribe(f: (m: BusMessage) => void): () => void {
    this.emitter.on('message', f);
    return () => this.emitter.off('message', f);
  }
}
