import type { Logger } from '@aws-lambda-powertools/logger';
import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConsoleProtocol, ConsoleTokenClaims } from '../../shared/console/console-token.js';
import { AccessRefused, authorizeUpgrade } from './console-access.js';
import { connectGuestSocket, relay, type RelayResult } from './console-relay.js';
import { serveStatic } from './static-files.js';
import type { TlsFiles } from './tls-certificate.js';
import type { UsedTokens } from './used-tokens.js';

/** OSSN-0008: a bound on the sessions one guest's screen can hold; a serial port takes one client. */
const MAX_VNC_SESSIONS_PER_GUEST = 4;
const MAX_FRAME_BYTES = 1 << 20;

export interface ConsoleServerOptions {
  host: string;
  /** The address the control plane hands out (https://...): its origin is the only Origin accepted. */
  publicUrl: string;
  listenAddress: string;
  port: number;
  tls: TlsFiles;
  publicKey: KeyObject;
  used: UsedTokens;
  /** The unix socket of a guest's console, or undefined when this host does not run the guest. */
  socketOf: (instanceId: string, protocol: ConsoleProtocol) => string | undefined;
  log: Logger;
  /** Told of each session as it opens and as it ends (the agent reports them to the conductor); never awaited. */
  onSession?: (event: ConsoleSessionEvent) => void;
}

/** A console session's start (no `closedAt`) or end, with the claims of the token that opened it. */
export interface ConsoleSessionEvent {
  claims: ConsoleTokenClaims;
  openedAt: Date;
  closed?: { at: Date; relay: RelayResult };
}

export interface ConsoleServer {
  readonly port: number;
  /** How many consoles are open now. */
  sessions(): number;
  /** Closes the listener and every open console. */
  close(): Promise<void>;
}

/**
 * The host's console proxy (Nova's nova-novncproxy and nova-serialproxy in one): HTTPS for the
 * noVNC page and its scripts, websockets (subprotocol `binary` when offered) relayed to the
 * guest's VNC or serial unix socket, each opened by a single-use token the API signed.
 */
export async function startConsoleServer(o: ConsoleServerOptions): Promise<ConsoleServer> {
  const ownOrigin = new URL(o.publicUrl).origin;
  const open = new Map<string, Set<WebSocket>>();
  const keyOf = (c: ConsoleTokenClaims) => `${c.sub}/${c.proto}`;
  const server: Server = createServer({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
    serveStatic(req, res, `wss://${new URL(o.publicUrl).host}`).catch(() => res.destroy());
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_FRAME_BYTES,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });

  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const peer = req.socket.remoteAddress;
    void (async () => {
      let claims: ConsoleTokenClaims | undefined;
      try {
        claims = await authorizeUpgrade(req, {
          host: o.host,
          publicKey: o.publicKey,
          used: o.used,
          ownOrigin,
          hasInstance: (id) => o.socketOf(id, 'vnc') !== undefined,
          isFree: (c) => (open.get(keyOf(c))?.size ?? 0) < (c.proto === 'serial' ? 1 : MAX_VNC_SESSIONS_PER_GUEST),
        });
        const guest = await connectGuestSocket(o.socketOf(claims.sub, claims.proto)!).catch((error: Error) => {
          throw new AccessRefused(409, `the guest's ${claims!.proto} console does not answer (${error.message}): is it running?`, claims);
        });
        const granted = claims;
        wss.handleUpgrade(req, socket, head, (ws) => {
          const key = keyOf(granted);
          const sessions = open.get(key) ?? new Set<WebSocket>();
          open.set(key, sessions.add(ws));
          const opened = new Date();
          const who = { instance_id: granted.sub, protocol: granted.proto, jti: granted.jti, user_id: granted.uid, project_id: granted.pid, request_id: granted.rid, peer };
          o.log.info('console opened', who);
          o.onSession?.({ claims: granted, openedAt: opened });
          void relay(ws, guest).then((r) => {
            sessions.delete(ws);
            if (!sessions.size) open.delete(key);
            const closed = new Date();
            o.log.info('console closed', { ...who, seconds: Math.round((closed.getTime() - opened.getTime()) / 100) / 10, ended_by: r.endedBy, bytes_to_client: r.bytesToClient, bytes_from_client: r.bytesFromClient });
            o.onSession?.({ claims: granted, openedAt: opened, closed: { at: closed, relay: r } });
          });
        });
      } catch (error) {
        const refused = error instanceof AccessRefused ? error : new AccessRefused(403, `unexpected error: ${(error as Error).message}`);
        o.log.warn('console refused', { reason: refused.reason, status: refused.status, peer, instance_id: refused.claims?.sub, jti: refused.claims?.jti, origin: req.headers.origin });
        refuse(socket, refused.status);
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.listenAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  o.log.info('console proxy listening', { url: o.publicUrl, listen: `${o.listenAddress}:${port}`, certificate: o.tls.source });
  return {
    port,
    sessions: () => [...open.values()].reduce((n, s) => n + s.size, 0),
    close: async () => {
      for (const sessions of open.values()) for (const ws of sessions) ws.terminate();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * A bare status line, no body and no websocket close frame: a client that reads the socket
 * (tempest's bad-token test) sees nothing but the refusal.
 */
function refuse(socket: Duplex, status: 403 | 409): void {
  const text = status === 403 ? 'Forbidden' : 'Conflict';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
