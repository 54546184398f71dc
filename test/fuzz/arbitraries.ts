// Generators of bad (and some good) input for the fuzz properties: strings built from the characters
// that break parsers and terminals, push options, API bodies, YAML configs, raw request paths, git ref
// names and dashboard keystrokes. Shared by every file in this folder.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { PUSH_OPTION_KEYS } from '../../hooks/push-options.js';
import { PUSH_TYPES } from '../../state/model.js';

/** Characters that have broken parsers and terminals before, plus plain ones so valid values appear too. */
const nasty = fc.constantFrom(
  '\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u001b[2J', '\u007f', '\u0085', '\u009b', '\u2028', '\u202e', '\ufeff',
  '\ud800', '\udc00', '😀', 'é', ' ', ',', '=', '.', '/', '\\', '%', '%2e', '%2F', '%00', '"', "'", '#', '-', '_', ':', '{', '}', '[', ']', '&', '*', '!', '|', '>',
);
const plain = fc.constantFrom(...'abcxyzABCXYZ0123456789-_'.split(''));
export const nastyString = (maxLength = 20): fc.Arbitrary<string> =>
  fc.array(fc.oneof({ weight: 3, arbitrary: plain }, { weight: 1, arbitrary: nasty }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2 }) }), { maxLength }).map((a) => a.join(''));

/** Values that look like what each push option wants, then bent. */
const optionValue: fc.Arbitrary<string> = fc.oneof(
  nastyString(30),
  fc.constantFrom('', ' ', 'none', 'yes', 'no', 'TRUE', 'off', '1234', 'WEB-42', '#7', 'web-42', 'urgent', 'urgent,no-conflicts', 'bob,carol', 'a,,b', ' , ', 'conflict-master', '-', '.hidden'),
  fc.integer({ min: -1, max: 1e12 }).map(String),
  fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,45}$/), { maxLength: 4 }).map((a) => a.join(',')),
  fc.string({ unit: 'grapheme', minLength: 190, maxLength: 210 }),
  fc.constant('x'.repeat(4001)),
);
const optionKey: fc.Arbitrary<string> = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PUSH_OPTION_KEYS) }, { weight: 1, arbitrary: nastyString(12) }, { weight: 1, arbitrary: fc.constantFrom('Title', 'title ', 'tag', 'pickme=', '') });

/** One `-o` value: `key=value`, sometimes without `=`. */
export const pushOption: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(optionKey, optionValue).map(([k, v]) => `${k}=${v}`) },
  { weight: 1, arbitrary: optionKey },
  { weight: 1, arbitrary: nastyString(30) },
);
export const pushOptions = fc.array(pushOption, { maxLength: 6 });

const id = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 1e9, 1e9 + 1, 2 ** 53, Number.MAX_SAFE_INTEGER) }, { weight: 1, arbitrary: fc.constantFrom('1', null, true, [1], {}) });
const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 2 });
/** A value for a field: usually the right type, often not. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: id },
  { weight: 3, arbitrary: nastyString(20) },
  { weight: 1, arbitrary: fc.constantFrom(...PUSH_TYPES, 'stage-a', 'WEB-42', '1234', 'urgent', 'pickme', 'staged') },
  { weight: 1, arbitrary: fc.array(fc.oneof(id, nastyString(8)), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.constant('x'.repeat(4100)) },
);
export const API_TYPES = [
  'PickmeRequest', 'UnpickmeRequest', 'VerifyRequest', 'VerifyPush', 'DelayRequest', 'UndelayRequest', 'DiscardRequest', 'CommentRequest', 'EditRequest', 'OpenPush', 'AcceptRequests',
  'RemoveRequest', 'RebuildPush', 'StagePush', 'BlessPush', 'CertifyPush', 'DiscardPush', 'MessagePushees', 'PingmePush', 'TakeOverPush', 'TickChecklist',
] as const;
const API_FIELDS = ['request', 'push', 'requests', 'reason', 'text', 'title', 'description', 'tags', 'watchers', 'review', 'ticket', 'pushType', 'env', 'force', 'state', 'on', 'item', 'done'];

/** An API body: a command-shaped object with random fields, or anything at all. */
export const apiBody: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.oneof({ weight: 8, arbitrary: fc.constantFrom<unknown>(...API_TYPES) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('openpush', '', 1, null, 'constructor', '__proto__', 'toString') }),
        fc.dictionary(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...API_FIELDS) }, { weight: 1, arbitrary: nastyString(8) }), fieldValue, { maxKeys: 5 }),
      )
      .map(([type, rest]) => ({ type, ...rest })),
  },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], 0, '', 'OpenPush', { type: 'OpenPush' }, { type: 'OpenPush', title: '' }, { type: 'AcceptRequests', push: 1, requests: [] }) },
);

/** Config YAML: a config-shaped object with bent values, serialised; or raw YAML trouble; or bytes. */
const cfgValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -10, max: 70000 }),
  nastyString(12),
  fc.boolean(),
  fc.constant(null),
  fc.array(nastyString(6), { maxLength: 3 }),
  fc.dictionary(nastyString(6), fc.oneof(nastyString(6), fc.integer()), { maxKeys: 3 }),
);
const cfgSection = (keys: readonly string[]) => fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: nastyString(6) }), cfgValue, { maxKeys: 4 });
const cfgObject = fc.record(
  {
    server: fc.oneof(cfgSection(['host', 'port', 'dataDir', 'publicUrl', 'maxBodyBytes', 'tls']), cfgValue),
    repository: fc.oneof(cfgSection(['name', 'master', 'metadataBranch', 'deployBranchPrefix', 'tagTemplate', 'singleAcceptingPush']), cfgValue),
    auth: fc.oneof(
      cfgSection(['strategy', 'users', 'tokens', 'rateLimit', 'ldap', 'pushmasters']),
      fc.record({ strategy: fc.constantFrom('local', 'ldap', 'none', 1), users: fc.array(fc.dictionary(fc.constantFrom('name', 'password', 'passwordHash', 'pushmaster', 'admin', 'email'), cfgValue, { maxKeys: 4 }), { maxLength: 3 }) }, { requiredKeys: [] }),
    ),
    notifications: cfgValue,
    extra: cfgValue,
  },
  { requiredKeys: [] },
);
/** A YAML alias bomb: 9^4 expansions, past the yaml library's alias limit. See the known-bug test. */
export const ALIAS_BOMB = 'a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]';

export const yamlText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: cfgObject.map((o) => stringify(o)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(cfgObject.map((o) => stringify(o)), fc.nat(), nastyString(6))
      .map(([t, at, junk]) => t.slice(0, at % (t.length + 1)) + junk + t.slice(at % (t.length + 1))),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '', '---', '[]', '- a', '42', '"x"', 'null', '~', '!!binary aGVsbG8=', 'server: !!set {a, b}', 'server:\n  port: !!str 80', 'server: &a\n  port: 1\nrepository: *a',
      'a: &a [1]\nb: [*a, *a, *a]\nserver: {port: *a}',
      'server: {port: 1, port: 2}', '? [a, b]\n: c', 'server:\n  <<: {port: 1}', '__proto__: {host: x}', 'server:\n  __proto__:\n    port: 3', '%YAML 1.1\n---\nserver: {port: 0x50}', 'server:\n\tport: 1',
      'server: {port: .inf}', 'server: {port: 1e3}', 'server: {port: 80.0}', 'server: {tls: {cert: "", key: ""}}', 'repository: {name: ../x}', 'notifications: {channels: [irc]}',
    ),
  },
  { weight: 1, arbitrary: nastyString(40) },
);

/** Raw request targets: path segments with dot tricks, encodings and controls, and an optional query. */
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('api', 'board', 'commands', 'main.git', 'info', 'refs', 'healthz', 'requests', '1', 'x') },
  { weight: 3, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '%2E.', '.%2e', '%2e', 'a%2fb', '%2F', '%00', 'a%5cb', '..%2f', '...', '.git', '..;', '%252e%252e', 'a\\..', '\u0000', '\t', '%') },
  { weight: 2, arbitrary: nastyString(6) },
);
export const rawPath: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('/', '', '//', '/./'), fc.array(segment, { maxLength: 6 }), fc.option(nastyString(8), { nil: undefined }))
  .map(([lead, segs, query]) => `${lead}${segs.join('/')}${query === undefined ? '' : `?${query}`}`);

/** Ref names under refs/pushreq/ that git itself accepts (check-ref-format rules), up to 200 characters. */
const refPart = fc
  .array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-'.split('')) }, { weight: 1, arbitrary: fc.constantFrom('é', 'ü', '😀', '+', '=', ',', '%', '!', '#', '&', "'") }), { minLength: 1, maxLength: 24 })
  .map((a) => a.join(''))
  .filter((s) => !s.startsWith('-') && !s.endsWith('.lock'));
export const refName: fc.Arbitrary<string> = fc
  .array(fc.oneof({ weight: 5, arbitrary: refPart }, { weight: 1, arbitrary: fc.tuple(refPart, refPart).map(([a, b]) => `${a}.${b}`) }), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('/').slice(0, 180).replace(/[/.]+$/, ''))
  .filter((s) => s.length > 0 && !s.endsWith('.lock') && !s.split('/').some((p) => !p || p.startsWith('.') || p.endsWith('.lock')));

/** One keystroke as Ink reports it: the input text and the flags. */
export const keystroke = fc.oneof(
  { weight: 6, arbitrary: fc.record({ input: fc.constantFrom(...'jkgGaxrsbcDmpuvdCO?q yYnN/ JLRX'.split('')), key: fc.constant({}) }) },
  { weight: 2, arbitrary: fc.record({ input: nastyString(3), key: fc.constant({}) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      input: fc.constantFrom('', 'c', 'u', 'x'),
      key: fc.record(
        { upArrow: fc.boolean(), downArrow: fc.boolean(), pageUp: fc.boolean(), pageDown: fc.boolean(), home: fc.boolean(), end: fc.boolean(), return: fc.boolean(), escape: fc.boolean(), backspace: fc.boolean(), delete: fc.boolean(), tab: fc.boolean(), ctrl: fc.boolean(), meta: fc.boolean() },
        { requiredKeys: [] },
      ),
    }),
  },
);

/** Well-formed commands with small ids and plausible text, so random input also reaches the domain's refusals. */
const smallId = fc.integer({ min: 1, max: 4 });
const oneLine = fc.oneof(fc.constantFrom('Fix login', 'x', 'Ünïcödé 😀', 'a'.repeat(200), 'stage'), fc.stringMatching(/^[ -~]{1,30}$/));
const words = fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { maxLength: 3 });
export const wellFormedCommand: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('PickmeRequest'), request: smallId, push: fc.option(smallId, { nil: undefined }) }, { requiredKeys: ['type', 'request'] }),
  ...(['UnpickmeRequest', 'VerifyRequest', 'UndelayRequest'] as const).map((type) => fc.record({ type: fc.constant(type), request: smallId })),
  ...(['DelayRequest', 'DiscardRequest'] as const).map((type) => fc.record({ type: fc.constant(type), request: smallId, reason: oneLine }, { requiredKeys: ['type', 'request'] })),
  fc.record({ type: fc.constant('CommentRequest'), request: smallId, text: oneLine }),
  fc.record(
    { type: fc.constant('EditRequest'), request: smallId, title: oneLine, description: oneLine, tags: words, watchers: fc.subarray(['alice', 'bob', 'carol', 'pm', 'nobody']), review: fc.constantFrom(null, '12'), ticket: fc.constantFrom(null, 'WEB-1', '#3') },
    { requiredKeys: ['type', 'request'] },
  ),
  fc.record({ type: fc.constant('OpenPush'), title: oneLine, pushType: fc.constantFrom(...PUSH_TYPES) }, { requiredKeys: ['type', 'title'] }),
  fc.record({ type: fc.constant('AcceptRequests'), push: smallId, requests: fc.array(smallId, { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('RemoveRequest'), push: smallId, request: smallId, reason: oneLine }),
  ...(['VerifyPush', 'RebuildPush', 'TakeOverPush'] as const).map((type) => fc.record({ type: fc.constant(type), push: smallId })),
  fc.record({ type: fc.constant('StagePush'), push: smallId, env: fc.constantFrom('stage', 'stage-a', 'prod.1') }),
  ...(['BlessPush', 'CertifyPush'] as const).map((type) => fc.record({ type: fc.constant(type), push: smallId, force: fc.boolean() }, { requiredKeys: ['type', 'push'] })),
  fc.record({ type: fc.constant('DiscardPush'), push: smallId, reason: oneLine }, { requiredKeys: ['type', 'push'] }),
  fc.record({ type: fc.constant('MessagePushees'), push: smallId, text: oneLine, state: fc.constantFrom('pickme', 'added', 'staged', 'verified', 'blessed') }, { requiredKeys: ['type', 'push', 'text'] }),
  fc.record({ type: fc.constant('PingmePush'), push: smallId, on: fc.boolean() }, { requiredKeys: ['type', 'push'] }),
  fc.record({ type: fc.constant('TickChecklist'), push: smallId, item: oneLine, done: fc.boolean() }, { requiredKeys: ['type', 'push', 'item'] }),
);

/** What the API sees from clients: mostly well-formed commands, often anything at all. */
export const apiTraffic: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: wellFormedCommand }, { weight: 2, arbitrary: apiBody });
