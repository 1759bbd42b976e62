import { spawn, type ChildProcess } from 'node:child_process';
import type { Server as HttpServer } from 'node:http';
import { createServer, Socket } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createSqsServer } from 'local-aws-sqs';
import { closeServer } from './close-server.js';
import S3rver from 's3rver';
import type { S3Event } from 'aws-lambda';

/**
 * The AWS emulators `npm start` runs when no AWS_ENDPOINT_URL is given (see DESIGN.md for why
 * these): dynoxide for DynamoDB (a child process, SQLite file in the state dir), local-aws-sqs for
 * SQS (in process, patched: see patches/), s3rver for S3 (in process, files in the state dir).
 * SQS keeps its messages in memory: a restart loses messages in flight, and the sweeper's task
 * deadlines bring any instance they concerned to a clear state.
 */
export interface Emulators {
  endpoints: { dynamodb: string; sqs: string; s3: string };
  /** Delivers the S3 emulator's event notifications, as the bucket's notifications do in AWS. */
  onS3Event(listener: (event: S3Event) => void): void;
  stop(): Promise<void>;
}

export async function startEmulators(stateDir: string): Promise<Emulators> {
  mkdirSync(join(stateDir, 's3'), { recursive: true });

  const dynamoPort = await freePort();
  const dynoxide = spawn(dynoxideBinary(), ['serve', '--host', '127.0.0.1', '--port', String(dynamoPort), '--db-path', join(stateDir, 'dynamodb.sqlite')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(dynamoPort, dynoxide);

  const sqsPort = await freePort();
  const sqs = await createSqsServer({ port: sqsPort, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false } as never);

  const s3Port = await freePort();
  const s3 = new S3rver({ port: s3Port, address: '127.0.0.1', silent: true, directory: join(stateDir, 's3'), vhostBuckets: false });
  await s3.run();

  return {
    endpoints: {
      dynamodb: `http://127.0.0.1:${dynamoPort}`,
      sqs: `http://127.0.0.1:${sqsPort}`,
      s3: `http://127.0.0.1:${s3Port}`,
    },
    onS3Event: (listener) => void s3.on('event', listener),
    async stop() {
      // The one emulator in its own process first: nothing must outlive this process.
      if (dynoxide.exitCode === null) {
        const exited = new Promise((resolve) => dynoxide.once('exit', resolve));
        dynoxide.kill('SIGTERM');
        await exited;
      }
      const s3Server = (s3 as unknown as { httpServer?: HttpServer }).httpServer;
      await Promise.all([closeServer(sqs), s3Server ? closeServer(s3Server) : s3.close()]);
    },
  };
}

function dynoxideBinary(): string {
  const require = createRequire(import.meta.url);
  return join(require.resolve('@dynoxide/linux-x64/package.json'), '..', 'dynoxide');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`emulator exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = new Socket();
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
      sock.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`emulator did not listen on port ${port} within ${timeoutMs} ms`);
}
