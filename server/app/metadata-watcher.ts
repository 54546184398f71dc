// Notices when a ref of the managed repository moves outside this process (an operator's repair with
// `git update-ref`, a mirror updated by `git fetch`), so the server can reload state and tell clients.
// Watches the loose ref file and `packed-refs` with chokidar; reads the SHA straight from those files
// (no git process per event) and calls back only when it really changed.
import { watch } from 'chokidar';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
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
  const packedFile = join(root, 'packed-refs');
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
    // chokidar re-reads a directory at most once a second, so a second rename-over of packed-refs
    // soon after the first can surface late or not at all: read once more after that window.
    if (settle !== null) timers.clearTimeout(settle);
    settle = timers.setTimeout(() => {
      settle = null;
      check();
    }, SETTLE_MS);
  };

  // Watch the two directories (git replaces files by renaming lock files, which a watch on the file
  // itself can miss) and drop everything in them but the two files that matter.
  const keep = new Set([root, looseDir, looseFile, packedFile]);
  const watcher = watch([...new Set([looseDir, root])], {
    depth: 0,
    ignoreInitial: true,
    atomic: false,
    ignored: (p: string) => !keep.has(resolve(p)),
  });
  watcher.on('all', (_event, p) => {
    if (p === looseFile || p === packedFile || resolve(p) === looseFile || resolve(p) === packedFile) schedule();
  });
  watcher.on('error', onError);

  const ready = Promise.all([initial, new Promise<void>((r) => watcher.once('ready', () => r()))]).then(() => undefined);

  return {
    ready,
    async close() {
      closed = true;
      if (timer !== null) timers.clearTimeout(timer);
      if (settle !== null) timers.clearTimeout(settle);
      await watcher.close();
      await reading;
    },
  };
}
