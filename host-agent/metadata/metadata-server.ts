import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { isIPv4 } from 'node:net';
import type { HostNetworkPlan } from '../../shared/domain/network/host-plan.js';
import type { GuestSpec } from '../../shared/messages/host.js';
import { lookup, type InstanceView } from './metadata-content.js';
import { NETWORK_ID_HEADER, SOURCE_HEADER } from './metadata-proxy.js';

/**
 * Nova's metadata service for the guests of this host, served as Neutron serves isolated
 * metadata: a proxy in each DHCP namespace (metadata-proxy.mjs) listens on 169.254.169.254:80
 * and forwards every request to this server's unix socket, saying which network it came in on
 * and from which address. The server finds the instance behind (network, address) in the plan
 * the data plane applies (its ports and which instance each belongs to) and answers with that
 * instance's own data; any other source gets 404.
 *
 * The two headers are trusted because only root reaches the socket (it is 0600 in a 0700
 * directory) and the proxy sets them itself; the addresses are trusted because the
 * anti-spoofing table drops packets a port sends from any address but its own.
 */

/** The part of a host's network plan the server reads (a HostNetworkPlan or the data plane's HostNetworkState). */
export type MetadataPlan = Pick<HostNetworkPlan, 'ports' | 'devices'> & Partial<Pick<HostNetworkPlan, 'routers'>>;

export interface MetadataSources {
  /** The network plan the data plane applies now (its ports and devices); undefined before the first. */
  plan: () => MetadataPlan | undefined | Promise<MetadataPlan | undefined>;
  /** A local guest's spawn spec, by instance id. */
  guest: (instanceId: string) => GuestSpec | undefined;
}

export interface MetadataServerOptions extends MetadataSources {
  socketPath: string;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

export interface MetadataServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** The instance behind a request from `address` on network `networkId`, if it is a local port's. */
export async function findInstance(sources: MetadataSources, networkId: string, address: string): Promise<InstanceView | undefined> {
  const plan = await sources.plan();
  if (!plan) return undefined;
  const port = plan.ports.find((p) => p.network_id === networkId && p.fixed_ips.some((f) => f.ip_address === address));
  if (!port) return undefined;
  const device = plan.devices.find((d) => d.port_id === port.id);
  const spec = device && sources.guest(device.instance_id);
  if (!spec) return undefined;
  const floating = (plan.routers ?? []).flatMap((r) => r.floating_ips).find((f) => f.port_id === port.id && f.fixed_ip_address === address);
  return { spec, fixedIp: address, ...(floating ? { floatingIp: floating.floating_ip_address } : {}) };
}

/** Handles one request: GET/HEAD only, from the proxy (both headers), for a known source. */
export async function handleRequest(sources: MetadataSources, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = (status: number, body: string | Buffer, contentType = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET and HEAD\n');
  const source = single(req.headers[SOURCE_HEADER]);
  const networkId = single(req.headers[NETWORK_ID_HEADER]);
  if (!source || !isIPv4(source) || !networkId) return reply(400, `${SOURCE_HEADER} and ${NETWORK_ID_HEADER} are required\n`);
  const instance = await findInstance(sources, networkId, source);
  if (!instance) return reply(404, 'Not Found\n');
  const answer = lookup(new URL(req.url ?? '/', 'http://metadata').pathname, instance);
  if (answer.status === 404) return reply(404, 'Not Found\n');
  reply(200, answer.body, answer.contentType);
}

/** One value of a header; a repeated one (the proxy never repeats them) counts as absent. */
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value.trim() : undefined;
}

/** Listens on `socketPath` (its directory made 0700, the socket 0600); a stale socket file is replaced. */
export async function startMetadataServer(options: MetadataServerOptions): Promise<MetadataServer> {
  const { socketPath, log = () => {} } = options;
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await chmod(dirname(socketPath), 0o700);
  await rm(socketPath, { force: true });
  const server: Server = createServer((req, res) => {
    handleRequest(options, req, res).catch((error: unknown) => {
      log('metadata request failed', { error: (error as Error).message, url: req.url });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  log('metadata service listening', { socket: socketPath });
  return {
    socketPath,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(socketPath, { force: true });
    },
  };
}
