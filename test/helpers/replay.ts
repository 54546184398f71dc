// Pure state tests build their starting board from commands: each decided and applied in turn, as the
// writer would, with no plan (so no build is asked for as a fact). A refusal is a broken test set-up.
import type { Command } from '../../state/commands.js';
import { decide, type Actor } from '../../state/decide.js';
import { isDomainError } from '../../state/errors.js';
import { evolveAll } from '../../state/evolve.js';
import { emptyBoard, type Board } from '../../state/model.js';

/** The board after `steps`, each decided at `now()` and applied; throws on a refusal. */
export function replay(steps: readonly (readonly [Command, Actor])[], now: () => string, from: Board = emptyBoard()): Board {
  let b = from;
  for (const [cmd, who] of steps) {
    const out = decide(b, cmd, { actor: who, now: now() });
    if (isDomainError(out)) throw new Error(`${cmd.type}: ${out.message}`);
    b = evolveAll(b, out);
  }
  return b;
}
