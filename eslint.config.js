// Lint: the recommended JS and TypeScript rules, plus the habits of ARCHITECTURE.md that a linter can see,
// among them the layer rules of docs/architecture.md (which folder may import which).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---- Layers (docs/architecture.md). Built-in rules only: `no-restricted-imports` sees static imports and
// re-exports (type-only ones too); `no-restricted-syntax` sees what it does not: `import('…')` calls and
// `import('…').Type` type references. Patterns are matched against the specifier as written, so a rule
// that depends on how deep a file sits is generated per depth.

/** `^(\.\./){n}`: a specifier that climbs n folders. */
const up = (n) => `^(\\.\\./){${n}}`;
/** Any package or node built-in (a specifier that is not relative). */
const PACKAGE = '^(?!\\.)';
/** A package that is not a node built-in. */
const NPM_PACKAGE = '^(?!\\.|node:)';

/**
 * tui/ reaches the server through HTTP only; these are the server modules it may import, each for a stated
 * reason. The wire types the server and the clients share are in state/wire.ts (pure types, issue 14 item 6),
 * so the clients import no server module for them.
 */
const TUI_SERVER_ALLOWED = {
  all: [],
  // `pushmanager serve` starts the composition root in-process.
  'tui/cli/serve.ts': ['main\\.js'],
  // `pushmanager hash-password` uses the server's own password hashing, loaded only for that verb.
  'tui/cli/main.ts': ['auth/local-directory\\.js'],
};

/** The two rules for a set of files, from regexes on the import specifier, each with its why. */
function restrict(files, banned) {
  const patterns = banned.map(([regex, message]) => ({ regex, message }));
  // esquery regexes may not contain a slash: \x2F stands for one.
  const selectors = banned.map(([regex, message]) => {
    const r = regex.replaceAll('/', '\\x2F');
    return [
      { selector: `ImportExpression > Literal[value=/${r}/]`, message: `dynamic import: ${message}` },
      { selector: `TSImportType Literal[value=/${r}/]`, message: `type import: ${message}` },
    ];
  });
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns }],
      'no-restricted-syntax': ['error', ...selectors.flat()],
    },
  };
}

const DEPTHS = [1, 2, 3, 4];
const under = (dir, depth) => `${dir}/${'*/'.repeat(depth - 1)}*.{ts,tsx}`;

const layers = [
  // state/: the pure domain. No package, no node built-in (not even types: no I/O), nothing outside state/.
  ...DEPTHS.map((d) =>
    restrict([under('state', d)], [
      [PACKAGE, 'state/ does no I/O and depends on nothing: no packages, no node: modules (docs/architecture.md)'],
      [up(d), 'state/ imports only from state/ (docs/architecture.md)'],
    ]),
  ),
  // hooks/: what a push means, and the tiny hook process. state/ and node built-ins only: the hook starts fast
  // and loads no package, and the receive handler knows the server only through the deps it is handed.
  ...DEPTHS.map((d) =>
    restrict([under('hooks', d)], [
      [NPM_PACKAGE, 'hooks/ loads no packages: node built-ins and state/ only (docs/architecture.md)'],
      [`${up(d)}(?!state/)`, 'hooks/ may import state/ only (docs/architecture.md)'],
    ]),
  ),
  // server/: never the clients; server/http and the composition root are imported by no other part of it.
  restrict(['server/**/*.{ts,tsx}'], [[`^(\\.\\./)+tui/`, 'server/ never imports tui/ (docs/architecture.md)']]),
  restrict(['server/*/**/*.{ts,tsx}'], [
    [`^(\\.\\./)+tui/`, 'server/ never imports tui/ (docs/architecture.md)'],
    ['^\\.\\./main\\.js$', 'only tui/cli/serve.ts starts the composition root (docs/architecture.md)'],
  ]),
  ...['app', 'auth', 'config', 'git', 'integrations', 'notify', 'pipeline', 'repo', 'store', 'train'].map((sub) =>
    restrict([`server/${sub}/**/*.{ts,tsx}`], [
      [`^(\\.\\./)+tui/`, 'server/ never imports tui/ (docs/architecture.md)'],
      ['^\\.\\./main\\.js$', 'only tui/cli/serve.ts starts the composition root (docs/architecture.md)'],
      ['^\\.\\./http/', 'server/http is the outermost server layer: only server/main.ts wires it (docs/architecture.md)'],
    ]),
  ),
  // tui/: the clients. state/ (pure) yes; hooks/ never; server/ only the allowed modules above.
  ...[
    ['tui/**/*.{ts,tsx}', TUI_SERVER_ALLOWED.all],
    ...Object.entries(TUI_SERVER_ALLOWED)
      .filter(([k]) => k !== 'all')
      .map(([file, extra]) => [file, [...TUI_SERVER_ALLOWED.all, ...extra]]),
  ].map(([files, allowed]) =>
    restrict([files], [
      [`^(\\.\\./)+server/(?!(${allowed.join('|')})$)`, `tui/ talks to the server over HTTP and imports from server/ ${allowed.length ? `only ${allowed.map((a) => a.replaceAll('\\', '')).join(', ')}` : 'nothing (wire types: state/wire.ts)'} (docs/architecture.md)`],
      [`^(\\.\\./)+hooks/`, 'tui/ never imports hooks/ (docs/architecture.md)'],
    ]),
  ),
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Library code never prints: output belongs to the CLI edge (tui/cli) and the composition root.
      'no-console': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layers,
  {
    files: ['state/**/*.ts'],
    rules: {
      'no-console': 'error',
      // state/ is pure: no clock, no randomness, no I/O.
      'no-restricted-globals': ['error', 'Date', 'setTimeout', 'setInterval', 'fetch', 'process'],
    },
  },
);
