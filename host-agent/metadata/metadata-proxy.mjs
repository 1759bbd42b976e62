// The metadata proxy of one DHCP namespace (Neutron runs haproxy there): listens on
// 169.254.169.254:80 inside the namespace and forwards each request to the host agent's
// metadata server on its unix socket (unix sockets cross network namespaces), saying where the
// request came from: X-Forwarded-For = the peer address, X-Novaless-Network-Id = this network,
// both overwriting whatever the guest sent. The answer streams back as it comes.
//
// Plain ESM without dependencies, run with the host's node:
//   ip netns exec <ns> node metadata-proxy.mjs --network-id=<id> --socket=<path>
//     --listen=169.254.169.254:80 --pid-file=<path> --log-file=<path> [--daemon]
// With --daemon it starts itself again detached (without --daemon, so /proc shows the same
// arguments to whoever checks the pid file) and exits 0 once that child listens, 1 if it cannot.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { fileURLToPath } from 'node:url';

const SOURCE_HEADER = 'x-forwarded-for';
const NETWORK_ID_HEADER = 'x-novaless-network-id';
/** Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business, not forwarded. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];
const UPSTREAM_TIMEOUT_MS = 30_000;
const DAEMON_START_TIMEOUT_MS = 10_000;

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const options = {
  networkId: option('network-id'),
  socket: option('socket'),
  listen: option('listen') ?? '169.254.169.254:80',
  pidFile: option('pid-file'),
  logFile: option('log-file'),
  daemon: args.includes('--daemon'),
};
for (const required of ['networkId', 'socket', 'pidFile']) {
  if (!options[required]) fail(`missing --${required.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

if (options.daemon) daemonize();
else serve();

function fail(message) {
  process.stderr.write(`metadata-proxy: ${message}\n`);
  process.exit(1);
}

const log = (message) => process.stderr.write(`${new Date().toISOString()} metadata-proxy[${process.pid}] ${message}\n`);

function daemonize() {
  const output = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const childArgs = [fileURLToPath(import.meta.url), ...args.filter((a) => a !== '--daemon')];
  const child = spawn(process.execPath, childArgs, { detached: true, stdio: ['ignore', output, output, 'ipc'] });
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
    fail(`did not start listening within ${DAEMON_START_TIMEOUT_MS} ms`);
  }, DAEMON_START_TIMEOUT_MS);
  child.on('message', (message) => {
    if (message?.ready) {
      clearTimeout(timer);
      child.disconnect();
      child.unref();
      process.exit(0);
    }
    if (message?.error) fail(message.error);
  });
  child.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening${options.logFile ? `, see ${options.logFile}` : ''}`));
}

function serve() {
  const [host, port] = splitHostPort(options.listen);
  const server = createServer(forward);
  server.headersTimeout = 10_000;
  server.requestTimeout = UPSTREAM_TIMEOUT_MS;
  server.maxConnections = 512;
  server.on('error', (error) => {
    const message = `cannot listen on ${options.listen}: ${error.message}`;
    log(message);
    if (process.send) process.send({ error: message }, () => process.exit(1));
    else process.exit(1);
  });
  server.listen({ host, port }, () => {
    writeFileSync(options.pidFile, `${process.pid}\n`);
    log(`listening on ${options.listen} for network ${options.networkId}, forwarding to ${options.socket}`);
    if (process.send) process.send({ ready: true });
  });
  const stop = () => {
    try {
      if (readFileSync(options.pidFile, 'utf8').trim() === String(process.pid)) rmSync(options.pidFile, { force: true });
    } catch {
      // no pid file: nothing to remove
    }
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Once the starter disconnects, the proxy lives on its own.
  process.on('disconnect', () => {});
}

function splitHostPort(text) {
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) fail(`--listen must be address:port, not ${text}`);
  return [text.slice(0, at), port];
}

function forward(req, res) {
  const headers = { ...req.headers };
  for (const name of [...HOP_BY_HOP, SOURCE_HEADER, NETWORK_ID_HEADER, 'forwarded', 'x-real-ip']) delete headers[name];
  headers[SOURCE_HEADER] = peerAddress(req.socket.remoteAddress);
  headers[NETWORK_ID_HEADER] = options.networkId;
  const upstream = request({ socketPath: options.socket, method: req.method, path: req.url, headers }, (answer) => {
    const answerHeaders = { ...answer.headers };
    for (const name of HOP_BY_HOP) delete answerHeaders[name];
    res.writeHead(answer.statusCode ?? 502, answerHeaders);
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.setTimeout(UPSTREAM_TIMEOUT_MS, () => upstream.destroy(new Error('the metadata server did not answer in time')));
  upstream.on('error', (error) => {
    if (res.headersSent) return res.destroy();
    log(`${req.method} ${req.url} from ${headers[SOURCE_HEADER]}: ${error.message}`);
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('metadata service unavailable\n');
  });
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
}

/** The guest's IPv4 address, without the IPv4-mapped IPv6 prefix a dual-stack socket would add. */
function peerAddress(address) {
  return (address ?? '').replace(/^::ffff:/, '');
}
