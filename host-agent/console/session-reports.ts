import type { Logger } from '@aws-lambda-powertools/logger';
import type { Reporter } from '../reports.js';
import type { ConsoleSessionEvent } from './console-server.js';

/**
 * Reports console sessions to the conductor: the token is used (for os-console-auth-tokens) and
 * the session is an instance action. The proxy does not wait for these: a console opens and
 * refuses reused tokens with the control plane unreachable; a lost report is only logged.
 */
export function consoleSessionReporter(reporter: Reporter, log: Logger): (event: ConsoleSessionEvent) => void {
  return ({ claims, openedAt, closed }) => {
    const session = {
      request_id: claims.rid,
      instance_id: claims.sub,
      jti: claims.jti,
      protocol: claims.proto,
      user_id: claims.uid,
      project_id: claims.pid,
      token_expires_at: claims.exp,
      opened_at: openedAt.toISOString(),
    };
    const report = closed
      ? reporter.send({
          type: 'console_closed',
          ...session,
          closed_at: closed.at.toISOString(),
          ended_by: closed.relay.endedBy,
          bytes_to_client: closed.relay.bytesToClient,
          bytes_from_client: closed.relay.bytesFromClient,
        })
      : reporter.send({ type: 'console_opened', ...session });
    report.catch((error: unknown) =>
      log.warn('could not report a console session to the conductor', { instance_id: claims.sub, jti: claims.jti, closed: Boolean(closed), error: error as Error }),
    );
  };
}
