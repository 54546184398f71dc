// Every error class in the tree extends the one base (state/pushmanager-error.ts), so a new plain
// `class X extends Error` — or a plain Error with a code stuck on — fails here rather than in a caller that
// branches on `code` or reads `toJSON()`.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PushmanagerError } from '../state/pushmanager-error.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAYERS = ['state', 'server', 'hooks', 'tui'];
const BASE_FILE = 'state/pushmanager-error.ts';

async function sources(): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, d.name);
      if (d.isDirectory()) await walk(path);
      else if (/\.tsx?$/.test(d.name) && !d.name.endsWith('.d.ts')) out.push({ path, text: await readFile(join(ROOT, path), 'utf8') });
    }
  };
  for (const layer of LAYERS) await walk(layer);
  return out;
}

/** `class Name extends Parent` declarations, by file. */
const classes = (text: string) => [...text.matchAll(/\bclass\s+(\w+)\s+extends\s+([\w.]+)/g)].map((m) => ({ name: m[1]!, parent: m[2]! }));

describe('error classes', () => {
  it('no class outside the base extends Error (or another class named *Error) directly', async () => {
    const all = await sources();
    const ours = new Set(all.flatMap((f) => classes(f.text).map((c) => c.name)));
    const offenders = all.flatMap((f) =>
      f.path === BASE_FILE
        ? []
        : classes(f.text)
            // A parent that is not one of our classes and looks like an error: Error itself, or a package's error class.
            .filter((c) => !ours.has(c.parent) && /(^|\.)(\w*Error|Error\w*)$/.test(c.parent))
            .map((c) => `${f.path}: class ${c.name} extends ${c.parent}`),
    );
    expect(offenders).toEqual([]);
  });

  it('no code is attached to a plain Error with Object.assign: such a failure gets a class', async () => {
    const offenders = (await sources()).filter((f) => /Object\.assign\(\s*new \w*Error\(/.test(f.text)).map((f) => relative('.', f.path));
    expect(offenders).toEqual([]);
  });

  it('every exported class that is an Error is a PushmanagerError', async () => {
    const files = (await sources()).filter((f) => classes(f.text).length > 0);
    const checked: string[] = [];
    const plain: string[] = [];
    for (const f of files) {
      const mod = (await import(pathToFileURL(join(ROOT, f.path)).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value !== 'function' || value === PushmanagerError || !(value.prototype instanceof Error)) continue;
        checked.push(name);
        if (!(value.prototype instanceof PushmanagerError)) plain.push(`${f.path}: ${name}`);
      }
    }
    expect(plain).toEqual([]);
    // The scan really reaches the error modules of every layer (a broken scan must not pass vacuously).
    expect(checked).toEqual(expect.arrayContaining(['SchemaError', 'GitError', 'StoreError', 'TrainError', 'NotifyError', 'IntegrationError', 'TokenStoreError', 'DirectoryUnavailableError', 'AuthConfigError', 'ConfigError', 'HttpError', 'AuthRefused', 'DispatchError', 'HookRuntimeError', 'ListenError', 'DataDirError', 'ServerRefusal', 'CredentialsRefused', 'ServerUnreachable', 'NoCredentials', 'PromptCancelled']));
  });
});
