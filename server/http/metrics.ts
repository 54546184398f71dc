// Operational metrics in the Prometheus text exposition format (version 0.0.4), served at /metrics.
// A tiny registry of counters, gauges and fixed-bucket histograms: no dependency, no global state (the
// composition root makes one Metrics and hands it to whoever observes), no user names or titles in labels.
import { CHANNELS, type Channel } from '../../state/notify/delivery.js';
import { PUSH_STATES, REQUEST_STATES, type Board } from '../../state/model.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;

/** Label values escaped as the format asks: backslash, double quote and newline. */
const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function formatLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

interface Metric {
  readonly name: string;
  render(): string[];
}

abstract class Family<T> implements Metric {
  protected readonly series = new Map<string, { values: string[]; data: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly labelNames: readonly string[],
  ) {}

  protected slot(labels: Labels, make: () => T): T {
    const values = this.labelNames.map((n) => labels[n] ?? '');
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      s = { values, data: make() };
      this.series.set(key, s);
    }
    return s.data;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, data } of this.series.values()) lines.push(...this.renderSeries(values, data));
    return lines;
  }

  protected abstract renderSeries(values: readonly string[], data: T): string[];
}

export class Counter extends Family<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'counter', labelNames);
    if (!labelNames.length) this.slot({}, () => ({ value: 0 })); // present, at zero, from the first scrape
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter only goes up (got ${by})`);
    this.slot(labels, () => ({ value: 0 })).value += by;
  }
  get(labels: Labels = {}): number {
    return this.slot(labels, () => ({ value: 0 })).value;
  }
  protected renderSeries(values: readonly string[], d: { value: number }): string[] {
    return [`${this.name}${formatLabels(this.labelNames, values)} ${formatValue(d.value)}`];
  }
}

export class Gauge extends Family<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'gauge', labelNames);
    if (!labelNames.length) this.slot({}, () => ({ value: 0 }));
  }
  set(labels: Labels, value: number): void {
    this.slot(labels, () => ({ value: 0 })).value = value;
  }
  get(labels: Labels = {}): number {
    return this.slot(labels, () => ({ value: 0 })).value;
  }
  protected renderSeries(values: readonly string[], d: { value: number }): string[] {
    return [`${this.name}${formatLabels(this.labelNames, values)} ${formatValue(d.value)}`];
  }
}

interface HistogramData {
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<HistogramData> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[], labelNames: readonly string[] = []) {
    super(name, help, 'histogram', labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
    if (!labelNames.length) this.get();
  }
  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return; // a broken timer must not poison the sum
    const d = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) d.counts[i]! += 1;
    d.sum += value;
    d.count += 1;
  }
  /** Count and sum of one series, for tests and the dashboard. */
  get(labels: Labels = {}): { count: number; sum: number } {
    const d = this.slot(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    return { count: d.count, sum: d.sum };
  }
  /** Each series' line heads (name and labels, `le` included), made once: a scrape writes only the numbers. */
  private readonly heads = new WeakMap<readonly string[], { buckets: string[]; sum: string; count: string }>();

  protected renderSeries(values: readonly string[], d: HistogramData): string[] {
    let h = this.heads.get(values);
    if (!h) {
      h = {
        buckets: [...this.buckets.map((le) => formatValue(le)), '+Inf'].map((le) => `${this.name}_bucket${formatLabels(this.labelNames, values, ['le', le])} `),
        sum: `${this.name}_sum${formatLabels(this.labelNames, values)} `,
        count: `${this.name}_count${formatLabels(this.labelNames, values)} `,
      };
      this.heads.set(values, h);
    }
    const heads = h;
    const lines = this.buckets.map((_, i) => `${heads.buckets[i]}${d.counts[i]}`);
    lines.push(`${heads.buckets[this.buckets.length]}${d.count}`);
    lines.push(`${heads.sum}${formatValue(d.sum)}`);
    lines.push(`${heads.count}${d.count}`);
    return lines;
  }
}

/** A set of metric families rendered together, in registration order. */
export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly collectors: (() => void)[] = [];

  register<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metrics.push(m);
    return m;
  }

  /** Runs before every render: for values read at scrape time (memory). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  renderMetrics(): string {
    for (const c of this.collectors) c();
    return `${this.metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}

/** Buckets in seconds: a command or a write is milliseconds; a rebuild of a big push may take a minute. */
const FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10];
const SLOW = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** The minimal outbox entry shape the gauges need (the Outbox's own list() entries fit). */
export interface OutboxEntryLike {
  readonly delivery: { readonly channel: Channel | string };
  readonly status: 'pending' | 'failed';
}

/**
 * Pushmanager's metric set. The integrator calls the observe/set methods from the dispatcher, the state
 * store, the receive path, the train and the outbox, and serves render() at GET /metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly commands = this.registry.register(new Counter('pushmanager_commands_total', 'Commands handled, by command type and result (ok, or the refusal code).', ['command', 'result']));
  readonly commandDuration = this.registry.register(new Histogram('pushmanager_command_duration_seconds', 'Time to handle one command: load, decide, commit with compare-and-swap, publish.', FAST, ['command']));
  readonly stateWrite = this.registry.register(new Histogram('pushmanager_state_write_seconds', 'Time to commit one state change to the metadata branch.', FAST));
  readonly pushToRecorded = this.registry.register(new Histogram('pushmanager_push_to_recorded_seconds', 'From the proc-receive hook call to the request recorded on the metadata branch (per ref).', FAST));
  readonly pushAnswered = this.registry.register(new Histogram('pushmanager_push_answered_seconds', 'From the proc-receive hook call to the answer sent back to git, conflict lines included.', FAST));
  readonly rebuild = this.registry.register(new Histogram('pushmanager_rebuild_seconds', 'Time to rebuild a deploy branch from its accepted requests.', SLOW));
  readonly conflictCheck = this.registry.register(new Histogram('pushmanager_conflict_check_seconds', 'Time to re-check conflicts after a change.', SLOW));
  readonly requests = this.registry.register(new Gauge('pushmanager_requests', 'Push requests on the board, by state.', ['state']));
  readonly pushes = this.registry.register(new Gauge('pushmanager_pushes', 'Pushes on the board, by state.', ['state']));
  readonly writerHeld = this.registry.register(new Histogram('pushmanager_writer_held_seconds', 'How long one command held the single state writer (read, decide, git effects, commit), by command type.', FAST, ['command']));
  readonly writeQueueDepth = this.registry.register(new Gauge('pushmanager_write_queue_depth', 'Commands waiting for the single state writer.'));
  readonly outboxPending = this.registry.register(new Gauge('pushmanager_outbox_pending', 'Notifications journaled and not yet delivered, by channel.', ['channel']));
  readonly outboxFailed = this.registry.register(new Gauge('pushmanager_outbox_failed', 'Notifications the outbox gave up on, by channel.', ['channel']));
  readonly maintenance = this.registry.register(new Histogram('pushmanager_repo_maintenance_seconds', 'One run of repository maintenance (pack-refs, repack, prune), by result.', SLOW, ['result']));
  readonly looseObjects = this.registry.register(new Gauge('pushmanager_repo_loose_objects', 'Loose objects in the managed repository (estimated from a sample of fan-out directories).'));
  readonly packs = this.registry.register(new Gauge('pushmanager_repo_packs', 'Pack files in the managed repository.'));
  readonly rss = this.registry.register(new Gauge('process_resident_memory_bytes', 'Resident memory of the server process.'));
  readonly heap = this.registry.register(new Gauge('nodejs_heap_used_bytes', 'V8 heap in use.'));
  readonly heapTotal = this.registry.register(new Gauge('nodejs_heap_total_bytes', 'V8 heap reserved (in use, free, and the young generation).'));
  readonly external = this.registry.register(new Gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap held by JavaScript objects (Buffers, zlib).'));
  readonly startTime = this.registry.register(new Gauge('process_start_time_seconds', 'When the server process started, in seconds since the epoch.'));

  constructor(opts: { readonly memory?: () => { rss: number; heapUsed: number; heapTotal?: number; external?: number }; readonly startedAt?: number } = {}) {
    const memory = opts.memory ?? (() => process.memoryUsage());
    this.startTime.set({}, Math.round((opts.startedAt ?? Date.now() - process.uptime() * 1000) / 1000));
    // Every state and channel is present from the first scrape, so dashboards see zeros, not gaps.
    for (const state of REQUEST_STATES) this.requests.set({ state }, 0);
    for (const state of PUSH_STATES) this.pushes.set({ state }, 0);
    for (const channel of CHANNELS) {
      this.outboxPending.set({ channel }, 0);
      this.outboxFailed.set({ channel }, 0);
    }
    this.writeQueueDepth.set({}, 0);
    this.registry.onCollect(() => {
      const m = memory();
      this.rss.set({}, m.rss);
      this.heap.set({}, m.heapUsed);
      this.heapTotal.set({}, m.heapTotal ?? 0);
      this.external.set({}, m.external ?? 0);
    });
  }

  /** One command handled: `result` is "ok" or the refusal's code ("not-owner", "unknown-request", …). */
  observeCommand(type: string, result: string, ms: number): void {
    this.commands.inc({ command: type, result });
    this.commandDuration.observe({ command: type }, ms / 1000);
  }
  observeWriterHeld(type: string, ms: number): void {
    this.writerHeld.observe({ command: type }, ms / 1000);
  }
  observeStateWrite(ms: number): void {
    this.stateWrite.observe({}, ms / 1000);
  }
  observePushToRecorded(ms: number): void {
    this.pushToRecorded.observe({}, ms / 1000);
  }
  observePushAnswered(ms: number): void {
    this.pushAnswered.observe({}, ms / 1000);
  }
  observeRebuild(ms: number): void {
    this.rebuild.observe({}, ms / 1000);
  }
  observeMaintenance(ok: boolean, ms: number): void {
    this.maintenance.observe({ result: ok ? 'ok' : 'failed' }, ms / 1000);
  }
  setRepoObjects(c: { readonly loose: number; readonly packs: number }): void {
    this.looseObjects.set({}, c.loose);
    this.packs.set({}, c.packs);
  }
  observeConflictCheck(ms: number): void {
    this.conflictCheck.observe({}, ms / 1000);
  }

  /** Counts requests and pushes by state; call after each commit (cheap: one pass over the board). */
  setBoard(board: Board): void {
    const r = new Map<string, number>(REQUEST_STATES.map((s) => [s, 0]));
    for (const req of Object.values(board.requests)) r.set(req.state, (r.get(req.state) ?? 0) + 1);
    for (const [state, n] of r) this.requests.set({ state }, n);
    const p = new Map<string, number>(PUSH_STATES.map((s) => [s, 0]));
    for (const push of Object.values(board.pushes)) p.set(push.state, (p.get(push.state) ?? 0) + 1);
    for (const [state, n] of p) this.pushes.set({ state }, n);
  }

  /** Counts the outbox's pending and failed deliveries by channel (pass Outbox.list()). */
  setOutbox(list: readonly OutboxEntryLike[]): void {
    const pending = new Map<string, number>(CHANNELS.map((c) => [c, 0]));
    const failed = new Map<string, number>(CHANNELS.map((c) => [c, 0]));
    for (const e of list) {
      const m = e.status === 'failed' ? failed : pending;
      m.set(e.delivery.channel, (m.get(e.delivery.channel) ?? 0) + 1);
    }
    for (const [channel, n] of pending) this.outboxPending.set({ channel }, n);
    for (const [channel, n] of failed) this.outboxFailed.set({ channel }, n);
  }

  setQueueDepth(n: number): void {
    this.writeQueueDepth.set({}, n);
  }

  render(): string {
    return this.registry.renderMetrics();
  }
}
