import { connect, type Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Above this many bytes waiting for the browser, the guest side is paused until they drain. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

export interface RelayResult {
  bytesToClient: number;
  bytesFromClient: number;
  /** Why it ended: the client left, the guest's socket closed (QEMU stopped), or an error. */
  endedBy: string;
}

/** Connects to a guest's unix socket (QEMU's VNC server or serial port); rejects when nothing listens there. */
export function connectGuestSocket(path: string, timeoutMs = 5000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${path}`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Pipes a websocket to a guest socket until either side ends: each chunk from the guest is one
 * binary frame (tempest reads RFB's first messages frame by frame), each frame from the client
 * (binary, or text from a terminal) is written to the guest. When QEMU exits (the guest stopped,
 * was suspended or deleted) its socket closes, and so does the websocket.
 */
export function relay(ws: WebSocket, guest: Socket): Promise<RelayResult> {
  return new Promise((resolve) => {
    const result: RelayResult = { bytesToClient: 0, bytesFromClient: 0, endedBy: '' };
    const end = (why: string) => {
      if (result.endedBy) return;
      result.endedBy = why;
      guest.destroy();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000, why === 'client' ? undefined : 'console closed');
      resolve(result);
    };
    guest.on('data', (chunk: Buffer) => {
      result.bytesToClient += chunk.length;
      ws.send(chunk, { binary: true });
      if (ws.bufferedAmount > HIGH_WATER_BYTES) {
        guest.pause();
        const resume = setInterval(() => {
          if (ws.bufferedAmount <= HIGH_WATER_BYTES / 2 || ws.readyState !== ws.OPEN) {
            clearInterval(resume);
            guest.resume();
          }
        }, 20);
      }
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      result.bytesFromClient += bytes.length;
      guest.write(isBinary ? bytes : Buffer.from(bytes.toString('utf8'), 'utf8'));
    });
    guest.once('close', () => end('guest'));
    guest.once('error', () => end('guest error'));
    ws.once('close', () => end('client'));
    ws.once('error', () => end('client error'));
  });
}
