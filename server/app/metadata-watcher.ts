// Notices when a ref of the managed repository moves outside this process (an operator's repair with
// `git update-ref`, a mirror updated by `git fetch`), so the server can reload state and tell clients.
// Watches the loose ref file and `packed-refs` (fs.watch on their directories); reads the SHA straight from those files
// (no git process per event) and calls back only when it really changed.
import { statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { realTimers, type Timers } from '../train/timers.js';

export interface RefWatcher {
  /** Resolves once the watcher is armed: changes after this are seen. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchRefOptions {
  /** Bursts (lock file, rename, packed-refs rewrite) settle into one read after this quiet time. */
  readonly debounceMs?: number;
  /** Where read or watch errors go; the watcher keeps going. */
  readonly onError?: (e: unknown) => void;
  /** The debounce's and the settle read's time; a test drives it by hand so a slow machine cannot split a burst. */
  readonly timers?: Timers;
}

const SETTLE_MS = 1100;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The SHA a ref points at in a files-backend repository, or null when it does not exist. */
export async function readRefSha(gitDir: string, ref: string): Promise<string | null> {
  const loose = await readFile(join(gitDir, ref), 'utf8').catch(() => null);
  const direct = loose?.trim();
  if (direct && SHA.test(direct)) return direct;
  const packed = await readFile(join(gitDir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    // "<sha> <ref>"; "^<sha>" peel lines and "#" headers are skipped by the shape check.
    const space = line.indexOf(' ');
    if (space > 0 && line.slice(space + 1) === ref && SHA.test(line.slice(0, space))) return line.slice(0, space);
  }
  return null;
}

export function watchRef(gitDir: string, ref: string, onChange: (sha: string | null) => void, opts: WatchRefOptions = {}): RefWatcher {
  const root = resolve(gitDir);
  const looseFile = join(root, ref);
  const looseDir = dirname(looseFile);
  const debounceMs = opts.debounceMs ?? 30;
  const onError = opts.onError ?? (() => undefined);
  const timers = opts.timers ?? realTimers;

  let closed = false;
  let timer: unknown = null;
  let settle: unknown = null;
  let reading: Promise<void> = Promise.resolve();
  let last: string | null | undefined;

  const initial = readRefSha(root, ref).then((sha) => {
    last = sha;
  });

  // Each read waits for the one before, so callbacks come in order and never twice for one SHA.
  const check = () => {
    armAll();
    reading = reading
      .then(() => initial)
      .then(() => readRefSha(root, ref))
      .then((sha) => {
        if (closed || sha === last) return;
        last = sha;
        onChange(sha);
      })
      .catch(onError);
  };
  const schedule = () => {
    if (closed) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = null;
      check();
    }, debounceMs);
    // A watch can miss a move (its queue overflowed, its directory was re-made between two events):
    // read once more when the burst has been quiet for a while.
    if (settle !== null) timers.clearTimeout(settle);
    settle = timers.setTimeout(() => {
      settle = null;
      check();
    }, SETTLE_MS);
  };

  // Watch the two directories (git replaces files by renaming lock files, which a watch on the file
  // itself can miss) with the kernel's watch (inotify on Linux), and act only on events naming the two
  // files that matter. chokidar listed and lstat'ed the whole directory again after every event there, and
  // this server moves the metadata ref with every state commit: ~5% of the push path's time (issue 17).
  const names = new Map<string, Set<string>>();
  for (const [dir, name] of [[looseDir, basename(looseFile)], [root, 'packed-refs']] as const) names.set(dir, (names.get(dir) ?? new Set()).add(name));
  const watchers = new Map<string, { w: FSWatcher; ino: number }>();
  const drop = (dir: string) => {
    watchers.get(dir)?.w.close();
    watchers.delete(dir);
  };
  const arm = (dir: string, wanted: ReadonlySet<string>) => {
    if (closed || watchers.has(dir)) return;
    try {
      const ino = statSync(dir).ino;
      const w = fsWatch(dir, { persistent: false }, (_event, file) => {
        const name = file === null ? null : String(file);
        // No name (some platforms, or an overflowed queue): read anyway.
        if (name === null || wanted.has(name)) return schedule();
        // The directory itself went (`git pack-refs --prune` removes emptied ref folders), and the watch
        // with it: dropped here, armed again by the next read once the directory is back.
        if (name === basename(dir) && statSync(dir, { throwIfNoEntry: false })?.ino !== ino) {
          drop(dir);
          schedule();
        }
      });
      w.on('error', () => drop(dir));
      watchers.set(dir, { w, ino });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') onError(e);
    }
  };
  const armAll = () => {
    for (const [dir, wanted] of names) arm(dir, wanted);
  };
  armAll();

  const ready = initial.then(() => undefined);
  return {
    ready,
    async close() {
      closed = true;
      if (timer !== null) timers.clearTimeout(timer);
      if (settle !== null) timers.clearTimeout(settle);
      for (const dir of [...watchers.keys()]) drop(dir);
      await reading;
    },
  };
}
