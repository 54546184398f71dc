// The /metrics text: it must parse as Prometheus exposition format 0.0.4 (checked with a small strict
// parser written here, not with the code under test), and every value must move as it is observed.
import { describe, expect, it } from 'vitest';
import { Counter, METRICS_CONTENT_TYPE, Metrics } from '../../../server/http/metrics.js';
import { emptyBoard, type Board, type Push, type PushRequest } from '../../../state/model.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}
interface Family {
  help?: string;
  type?: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)}`);
  return Number(s);
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    const name = s.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name ${JSON.stringify(name)}`);
    if (s[eq + 1] !== '"') throw new Error('label value must be quoted');
    let v = '';
    let j = eq + 2;
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === '\\') {
        const n = s[++j];
        if (n === 'n') v += '\n';
        else if (n === '\\' || n === '"') v += n;
        else throw new Error(`bad escape \\${n}`);
      } else if (s[j] === '\n') throw new Error('raw newline in a label value');
      else v += s[j];
    }
    if (s[j] !== '"') throw new Error('unterminated label value');
    if (name in out) throw new Error(`label ${name} twice`);
    out[name] = v;
    j++;
    if (j < s.length && s[j] !== ',') throw new Error(`expected "," at ${j} in ${s}`);
    i = j + 1;
  }
  return out;
}

/** A strict reader of the text format: HELP/TYPE before samples, one TYPE per family, valid names and values. */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text must end with a newline');
  const families = new Map<string, Family>();
  const familyOf = (sample: string, fams: Map<string, Family>) => {
    for (const suffix of ['_bucket', '_sum', '_count', '']) {
      const base = suffix && sample.endsWith(suffix) ? sample.slice(0, -suffix.length) : sample;
      const f = fams.get(base);
      if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f;
    }
    return undefined;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name ${name}`);
      const f = families.get(name) ?? { samples: [] };
      families.set(name, f);
      if (kind === 'TYPE') {
        if (f.type) throw new Error(`second TYPE for ${name}`);
        if (f.samples.length) throw new Error(`TYPE after samples for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type ${rest}`);
        f.type = rest;
      } else f.help = rest;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const [, name, labels, value] = m as unknown as [string, string, string | undefined, string];
    const f = familyOf(name, families);
    if (!f) throw new Error(`sample ${name} before its TYPE`);
    f.samples.push({ name, labels: labels ? parseLabels(labels) : {}, value: parseValue(value) });
  }
  return families;
}

const find = (fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const f of fams.values()) for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length) return s.value;
  return undefined;
};

/** Histogram invariants: cumulative buckets, ending in +Inf equal to _count. */
function checkHistogram(f: Family, name: string): void {
  const bySeries = new Map<string, Sample[]>();
  for (const s of f.samples.filter((x) => x.name === `${name}_bucket`)) {
    const { le, ...rest } = s.labels;
    expect(le).toBeDefined();
    const k = JSON.stringify(rest);
    bySeries.set(k, [...(bySeries.get(k) ?? []), s]);
  }
  for (const [k, buckets] of bySeries) {
    const les = buckets.map((b) => parseValue(b.labels.le!));
    expect([...les].sort((a, b) => a - b)).toEqual(les);
    expect(les.at(-1)).toBe(Infinity);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    const count = f.samples.find((s) => s.name === `${name}_count` && JSON.stringify(s.labels) === k)!;
    expect(count.value).toBe(buckets.at(-1)!.value);
    expect(f.samples.some((s) => s.name === `${name}_sum` && JSON.stringify(s.labels) === k)).toBe(true);
  }
}

const request = (id: number, state: PushRequest['state']): PushRequest => ({ id, state }) as unknown as PushRequest;
const push = (id: number, state: Push['state']): Push => ({ id, state }) as unknown as Push;

describe('Metrics', () => {
  const fixed = () => new Metrics({ memory: () => ({ rss: 123_456_789, heapUsed: 42 }), startedAt: 1_700_000_000_000 });

  it('renders every family of the issue, typed, parseable, with zeros before anything happened', () => {
    const fams = parseExposition(fixed().render());
    const want: Record<string, string> = {
      pushmanager_commands_total: 'counter',
      pushmanager_command_duration_seconds: 'histogram',
      pushmanager_state_write_seconds: 'histogram',
      pushmanager_push_to_recorded_seconds: 'histogram',
      pushmanager_push_answered_seconds: 'histogram',
      pushmanager_writer_held_seconds: 'histogram',
      pushmanager_requests: 'gauge',
      pushmanager_pushes: 'gauge',
      pushmanager_write_queue_depth: 'gauge',
      pushmanager_outbox_pending: 'gauge',
      pushmanager_outbox_failed: 'gauge',
      pushmanager_rebuild_seconds: 'histogram',
      pushmanager_conflict_check_seconds: 'histogram',
      process_resident_memory_bytes: 'gauge',
    };
    for (const [name, type] of Object.entries(want)) {
      expect(fams.get(name)?.type, name).toBe(type);
      expect(fams.get(name)?.help, name).toBeTruthy();
    }
    expect(find(fams, 'pushmanager_requests', { state: 'pickme' })).toBe(0);
    expect(find(fams, 'pushmanager_pushes', { state: 'accepting' })).toBe(0);
    expect(find(fams, 'pushmanager_outbox_pending', { channel: 'irc' })).toBe(0);
    expect(find(fams, 'pushmanager_write_queue_depth')).toBe(0);
    expect(find(fams, 'process_resident_memory_bytes')).toBe(123_456_789);
    expect(find(fams, 'process_start_time_seconds')).toBe(1_700_000_000);
    expect(METRICS_CONTENT_TYPE).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('moves counters and histograms as commands, writes, pushes, rebuilds and conflict checks are observed', () => {
    const m = fixed();
    m.observeCommand('AcceptRequests', 'ok', 12);
    m.observeCommand('AcceptRequests', 'ok', 30);
    m.observeCommand('AcceptRequests', 'not-pushmaster', 3);
    m.observeCommand('OpenPush', 'ok', 7_000);
    m.observeStateWrite(20);
    m.observePushToRecorded(80);
    m.observePushToRecorded(120);
    m.observeRebuild(1_500);
    m.observeConflictCheck(400);
    const fams = parseExposition(m.render());
    expect(find(fams, 'pushmanager_commands_total', { command: 'AcceptRequests', result: 'ok' })).toBe(2);
    expect(find(fams, 'pushmanager_commands_total', { command: 'AcceptRequests', result: 'not-pushmaster' })).toBe(1);
    expect(find(fams, 'pushmanager_command_duration_seconds_count', { command: 'AcceptRequests' })).toBe(3);
    expect(find(fams, 'pushmanager_command_duration_seconds_sum', { command: 'AcceptRequests' })).toBeCloseTo(0.045, 9);
    expect(find(fams, 'pushmanager_command_duration_seconds_bucket', { command: 'AcceptRequests', le: '0.005' })).toBe(1);
    expect(find(fams, 'pushmanager_command_duration_seconds_bucket', { command: 'AcceptRequests', le: '0.025' })).toBe(2);
    expect(find(fams, 'pushmanager_command_duration_seconds_bucket', { command: 'AcceptRequests', le: '+Inf' })).toBe(3);
    expect(find(fams, 'pushmanager_command_duration_seconds_bucket', { command: 'OpenPush', le: '5' })).toBe(0);
    expect(find(fams, 'pushmanager_command_duration_seconds_bucket', { command: 'OpenPush', le: '10' })).toBe(1);
    expect(find(fams, 'pushmanager_state_write_seconds_count')).toBe(1);
    expect(find(fams, 'pushmanager_push_to_recorded_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(find(fams, 'pushmanager_push_to_recorded_seconds_count')).toBe(2);
    expect(find(fams, 'pushmanager_push_to_recorded_seconds_sum')).toBeCloseTo(0.2, 9);
    expect(find(fams, 'pushmanager_rebuild_seconds_bucket', { le: '1' })).toBe(0);
    expect(find(fams, 'pushmanager_rebuild_seconds_bucket', { le: '2.5' })).toBe(1);
    expect(find(fams, 'pushmanager_conflict_check_seconds_count')).toBe(1);
    for (const name of ['pushmanager_command_duration_seconds', 'pushmanager_state_write_seconds', 'pushmanager_push_to_recorded_seconds', 'pushmanager_rebuild_seconds', 'pushmanager_conflict_check_seconds'])
      checkHistogram(fams.get(name)!, name);
  });

  it('sets board, outbox and queue gauges to what they were last given, zeroing what went away', () => {
    const m = fixed();
    const board: Board = {
      ...emptyBoard(),
      requests: { 1: request(1, 'pickme'), 2: request(2, 'pickme'), 3: request(3, 'added'), 4: request(4, 'live') } as Board['requests'],
      pushes: { 1: push(1, 'accepting'), 2: push(2, 'live') } as Board['pushes'],
    };
    m.setBoard(board);
    m.setOutbox([
      { delivery: { channel: 'irc' }, status: 'pending' },
      { delivery: { channel: 'irc' }, status: 'pending' },
      { delivery: { channel: 'email' }, status: 'failed' },
    ]);
    m.setQueueDepth(3);
    let fams = parseExposition(m.render());
    expect(find(fams, 'pushmanager_requests', { state: 'pickme' })).toBe(2);
    expect(find(fams, 'pushmanager_requests', { state: 'added' })).toBe(1);
    expect(find(fams, 'pushmanager_requests', { state: 'requested' })).toBe(0);
    expect(find(fams, 'pushmanager_pushes', { state: 'accepting' })).toBe(1);
    expect(find(fams, 'pushmanager_outbox_pending', { channel: 'irc' })).toBe(2);
    expect(find(fams, 'pushmanager_outbox_failed', { channel: 'email' })).toBe(1);
    expect(find(fams, 'pushmanager_outbox_pending', { channel: 'email' })).toBe(0);
    expect(find(fams, 'pushmanager_write_queue_depth')).toBe(3);

    m.setBoard({ ...board, requests: { 3: request(3, 'staged') } as Board['requests'] });
    m.setOutbox([]);
    m.setQueueDepth(0);
    fams = parseExposition(m.render());
    expect(find(fams, 'pushmanager_requests', { state: 'pickme' })).toBe(0);
    expect(find(fams, 'pushmanager_requests', { state: 'staged' })).toBe(1);
    expect(find(fams, 'pushmanager_outbox_pending', { channel: 'irc' })).toBe(0);
    expect(find(fams, 'pushmanager_write_queue_depth')).toBe(0);
  });

  it('reads memory at scrape time', () => {
    let rss = 1;
    const m = new Metrics({ memory: () => ({ rss, heapUsed: 1 }) });
    expect(find(parseExposition(m.render()), 'process_resident_memory_bytes')).toBe(1);
    rss = 2;
    expect(find(parseExposition(m.render()), 'process_resident_memory_bytes')).toBe(2);
    expect(find(parseExposition(new Metrics().render()), 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
  });

  it('escapes label values so odd command or refusal names cannot break the format', () => {
    const m = fixed();
    m.observeCommand('We"ird\\Type\nX', 'bad "code"', 1);
    const fams = parseExposition(m.render());
    expect(find(fams, 'pushmanager_commands_total', { command: 'We"ird\\Type\nX', result: 'bad "code"' })).toBe(1);
  });

  it('ignores non-finite timings and refuses a counter going down', () => {
    const m = fixed();
    m.observeStateWrite(NaN);
    m.observeStateWrite(Infinity);
    expect(find(parseExposition(m.render()), 'pushmanager_state_write_seconds_count')).toBe(0);
    expect(() => new Counter('x_total', 'x').inc({}, -1)).toThrow(RangeError);
  });

  it('the parser in this test is strict enough to catch broken text', () => {
    expect(() => parseExposition('a 1')).toThrow();
    expect(() => parseExposition('a 1\n')).toThrow(/before its TYPE/);
    expect(() => parseExposition('# TYPE a gauge\na{b="x} 1\n')).toThrow();
    expect(() => parseExposition('# TYPE a gauge\na one\n')).toThrow();
    expect(() => parseExposition('# TYPE a gauge\n# TYPE a gauge\n')).toThrow();
  });
});
