import type { Server } from 'node:http';

/**
 * Stops an HTTP server now. `close()` alone waits for every open connection to end, and clients
 * outside this process (host agents' long polls, a CLI still sending) may hold one for long:
 * long enough for whoever stops `npm start` to SIGKILL it and orphan what it started.
 */
export async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
