// One row of the benchmark table: a figure, its baseline measured in the same run, the ratio, the target.
// The one definition every bench module reports with (bench/train, bench/intake, run-all).

export interface BenchRow {
  /** What was measured, e.g. "deploy rebuild, 50 requests". */
  figure: string;
  value: number;
  unit: string;
  /** What the value is compared with; '' or '-' when there is no baseline. */
  baselineName: string;
  baseline: number | null;
  /** value / baseline, or the speed-up when the target says so; null without a baseline. */
  ratio: number | null;
  /** The target in words, e.g. "ratio ≤ 1.3". */
  target: string;
  pass: boolean;
}

/** Nearest-rank percentile (p in 0..100); NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** Median; for an even count the mean of the two middle values. NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

const num = (x: number | null, unit = ''): string => (x === null || Number.isNaN(x) ? '' : `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}${unit}`);

/** Prints rows as aligned lines: for running a bench module on its own. */
export function printRows(rows: readonly BenchRow[]): void {
  for (const r of rows) {
    const ratio = r.ratio === null ? '' : ` ratio ${r.ratio.toFixed(2)}`;
    const base = r.baseline === null ? '' : ` vs ${r.baselineName} ${num(r.baseline)} ${r.unit}`;
    console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${r.figure}: ${num(r.value)} ${r.unit}${base}${ratio}  (target ${r.target})`);
  }
}

const cells = (r: BenchRow): string[] => [
  r.figure,
  `${num(r.value)} ${r.unit}`,
  r.baseline === null ? '—' : `${r.baselineName}: ${num(r.baseline)} ${r.unit}`,
  r.ratio === null ? '—' : r.ratio.toFixed(2),
  r.target,
  r.pass ? 'pass' : 'FAIL',
];
const HEAD = ['figure', 'value', 'baseline (same run)', 'ratio', 'target', 'result'];

/** A markdown table of the rows (pipes in cells escaped). */
export function markdownTable(rows: readonly BenchRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`)].join('\n');
}

/** A plain-text table for the terminal, columns padded to their widest cell. */
export function textTable(rows: readonly BenchRow[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

/** True when `moduleUrl` is the script node was started with (`node dist/bench/train/x.js`). */
export function isMain(moduleUrl: string): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  const strip = (p: string) => p.replace(/\.(ts|js)$/, '');
  return strip(new URL(moduleUrl).pathname) === strip(arg.startsWith('/') ? arg : `${process.cwd()}/${arg}`);
}
