// The one error base: every thrown error has a literal code, structured data, the ES2022 cause and one JSON
// shape, the same shape a domain refusal (a value, not a throw) has on the wire.
import { describe, expect, it } from 'vitest';
import { PushmanagerError, causeChain, isPushmanagerError } from '../../state/pushmanager-error.js';
import { SchemaError } from '../../state/codec.js';
import { domainError, domainErrorJson } from '../../state/errors.js';
import { GitError } from '../../server/git/git-cli.js';
import { StoreError } from '../../server/store/state-store.js';
import { HttpError } from '../../server/http/http-util.js';
import { IntegrationError } from '../../server/integrations/integration-error.js';
import { NotifyError } from '../../server/notify/notify-error.js';
import { CredentialsRefused, ServerRefusal } from '../../tui/client.js';

class ProbeError extends PushmanagerError {
  readonly code = 'probe-failed' as const;
}

describe('PushmanagerError', () => {
  it('carries code, message and data, and is an Error named after its class', () => {
    const e = new ProbeError('the probe failed at 3', { at: 3 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ProbeError');
    expect(String(e)).toBe('ProbeError: the probe failed at 3');
    expect(e.toJSON()).toEqual({ code: 'probe-failed', message: 'the probe failed at 3', data: { at: 3 } });
    expect(JSON.parse(JSON.stringify({ error: e }))).toEqual({ error: { code: 'probe-failed', message: 'the probe failed at 3', data: { at: 3 } } });
    expect(new ProbeError('no facts').data).toEqual({});
  });

  it('keeps the cause (ES2022) and serialises a cause chain of its own errors, never a foreign one', () => {
    const git = new GitError(['update-ref', 'refs/heads/x'], 128, 'fatal: cannot lock ref\n');
    const store = new StoreError('store-write-failed', 'could not write the board', { ref: 'refs/x' }, { cause: git });
    const outer = new ProbeError('the probe failed', {}, { cause: store });
    expect(outer.cause).toBe(store);
    expect(causeChain(outer)).toEqual([outer, store, git]);
    expect(outer.toJSON()).toEqual({
      code: 'probe-failed',
      message: 'the probe failed',
      data: {},
      cause: {
        code: 'store-write-failed',
        message: 'could not write the board',
        data: { ref: 'refs/x' },
        cause: { code: 'git-failed', message: git.message, data: { args: ['update-ref', 'refs/heads/x'], exitCode: 128, stderr: 'fatal: cannot lock ref\n' } },
      },
    });
    // A foreign cause (a system error) stays reachable on .cause, but is not put on the wire.
    const sys = Object.assign(new Error('EACCES: permission denied, open /etc/shadow'), { code: 'EACCES' });
    const wrapped = new ProbeError('cannot read', {}, { cause: sys });
    expect(wrapped.cause).toBe(sys);
    expect(wrapped.toJSON()).not.toHaveProperty('cause');
    expect(new ProbeError('no cause')).not.toHaveProperty('cause');
  });

  it('stops a cause chain at a cycle', () => {
    const a = new ProbeError('a');
    const b = new ProbeError('b', {}, { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(b)).toEqual([b, a]);
    expect(causeChain(undefined)).toEqual([]);
  });

  it('is the base across layers: state, server adapters, HTTP and the client, each keeping its own class and code', () => {
    const errors = [
      new SchemaError(9, 1),
      new GitError(['status'], 1, ''),
      new StoreError('store-corrupt', 'bad tree'),
      new HttpError(404, 'not-found', 'nothing at /x'),
      new IntegrationError('integration-timeout', 'buildbot', 'buildbot: no answer in 5s'),
      new NotifyError('irc-send-failed', 'irc: gone'),
      new CredentialsRefused(401, 'bad-credentials', 'wrong user or password'),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(PushmanagerError);
      expect(isPushmanagerError(e)).toBe(true);
      expect(typeof e.code).toBe('string');
    }
    expect(errors.map((e) => e.name)).toEqual(['SchemaError', 'GitError', 'StoreError', 'HttpError', 'IntegrationError', 'NotifyError', 'CredentialsRefused']);
    // Subclasses of subclasses keep the whole chain.
    expect(errors[6]).toBeInstanceOf(ServerRefusal);
    expect(errors[0]).not.toBeInstanceOf(GitError);
    expect(isPushmanagerError(new Error('plain'))).toBe(false);
    expect(isPushmanagerError(domainError('unknown-push', 'no push 3', { push: 3 }))).toBe(false);
  });

  it('the classes that add facts to their JSON keep code, message and data', () => {
    expect(new NotifyError('email-send-failed', 'refused', { permanent: true, data: { responseCode: 550 } }).toJSON()).toEqual({ name: 'NotifyError', code: 'email-send-failed', message: 'refused', data: { responseCode: 550 }, permanent: true });
    expect(new IntegrationError('integration-not-found', 'jira', 'no ticket', { key: 'X-1' }).toJSON()).toEqual({ name: 'IntegrationError', service: 'jira', code: 'integration-not-found', message: 'no ticket', data: { key: 'X-1' } });
  });

  it('a domain refusal has the same JSON shape as a thrown error', () => {
    const refusal = domainError('unknown-push', 'no push 3', { push: 3 });
    const thrown = new HttpError(404, 'unknown-push', 'no push 3', { push: 3 });
    expect(domainErrorJson(refusal)).toEqual(thrown.toJSON());
    expect(Object.keys(domainErrorJson(refusal)).sort()).toEqual(['code', 'data', 'message']);
  });
});
