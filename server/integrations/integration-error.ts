// Typed failures of the clients for the company's other systems (Reviewboard, Buildbot, JIRA,
// webhook receivers, the upstream git server): callers branch on `code`, never on message text.
import { PushmanagerError, type ErrorJson } from '../../state/pushmanager-error.js';

export type IntegrationService = 'reviewboard' | 'buildbot' | 'jira' | 'webhook' | 'upstream';

export type IntegrationErrorCode =
  /** No answer within the timeout. */
  | 'integration-timeout'
  /** Connection refused, DNS failure, reset: the service is down or the URL is wrong. */
  | 'integration-unreachable'
  /** 401/403: the credentials are wrong or lack a permission. */
  | 'integration-auth-failed'
  /** 404: no such review, ticket or path. */
  | 'integration-not-found'
  /** Any other non-2xx status. */
  | 'integration-http-error'
  /** A 2xx answer that is not the documented shape. */
  | 'integration-bad-response'
  /** An argument the client refuses before sending (a review id that is not a number, a bad ticket key). */
  | 'integration-bad-argument';

export class IntegrationError extends PushmanagerError {
  constructor(
    readonly code: IntegrationErrorCode,
    readonly service: IntegrationService,
    message: string,
    data: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, data, options);
  }

  override toJSON(): ErrorJson & { name: string; service: IntegrationService } {
    return { name: this.name, service: this.service, ...super.toJSON() };
  }
}

export const isIntegrationError = (e: unknown): e is IntegrationError => e instanceof IntegrationError;
