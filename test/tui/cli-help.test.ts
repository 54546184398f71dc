// `--help` of every verb says what each option and argument is for: a user reads it before README.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../tui/cli/main.js';

function all(c: Command, path: string[] = []): { name: string; command: Command }[] {
  const name = [...path, c.name()].join(' ');
  return [{ name, command: c }, ...c.commands.flatMap((s) => all(s, [...path, c.name()]))];
}

describe('CLI help', () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined, env: {} });

  it.each(all(program).map((x) => [x.name, x.command] as const))('%s: every option and argument has a description', (_name, command) => {
    expect(command.description()).not.toBe('');
    for (const o of command.options) expect(o.description, `${o.flags}`).not.toBe('');
    for (const a of command.registeredArguments) expect(a.description, a.name()).not.toBe('');
  });

  it('status --help speaks of the fields, not of the spec', () => {
    const status = program.commands.find((c) => c.name() === 'status')!;
    expect(status.helpInformation()).not.toMatch(/SPEC/);
  });
});
