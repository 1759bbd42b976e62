import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient, QmpCommandError, QmpConnectionError } from '../../../../host-agent/drivers/qemu/qmp-client.js';
import { tempDir } from '../support.js';

type Handler = (command: { execute: string; arguments?: Record<string, unknown>; id?: unknown }, socket: Socket) => void;

/** A unix-socket server speaking QMP as QEMU does: greeting, capabilities negotiation, then commands. */
async function fakeQmp(handle: Handler, { greet = true } = {}): Promise<{ path: string; server: Server; sockets: Socket[] }> {
  const path = join(await tempDir('qmp-'), 'qmp.sock');
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    if (greet) socket.write(`${JSON.stringify({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: 'test' }, capabilities: ['oob'] } })}\r\n`);
    let negotiated = false;
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const command = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (command.execute === 'qmp_capabilities') {
          negotiated = true;
          socket.write(`${JSON.stringify({ return: {}, id: command.id })}\r\n`);
        } else if (!negotiated) {
          socket.write(`${JSON.stringify({ error: { class: 'CommandNotFound', desc: 'Expecting capabilities negotiation with qmp_capabilities' }, id: command.id })}\r\n`);
        } else {
          handle(command, socket);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  servers.push(server);
  return { path, server, sockets };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const reply = (socket: Socket, message: unknown) => socket.write(`${JSON.stringify(message)}\r\n`);

describe('QMP client', () => {
  it('negotiates capabilities, then matches answers to commands by id, even out of order', async () => {
    const held: { id: unknown; socket: Socket }[] = [];
    const { path } = await fakeQmp((command, socket) => {
      if (command.execute === 'query-status') held.push({ id: command.id, socket });
      if (command.execute === 'query-name') {
        reply(socket, { return: { name: 'guest' }, id: command.id });
        // answer the earlier command after the later one
        for (const h of held.splice(0)) reply(h.socket, { return: { status: 'running', running: true }, id: h.id });
      }
    });
    const qmp = await QmpClient.connect(path);
    expect(qmp.version?.qemu.major).toBe(7);
    const status = qmp.execute<{ status: string }>('query-status');
    const name = qmp.execute<{ name: string }>('query-name');
    expect(await name).toEqual({ name: 'guest' });
    expect(await status).toEqual({ status: 'running', running: true });
    qmp.close();
  });

  it('turns QMP errors into QmpCommandError with the class and description', async () => {
    const { path } = await fakeQmp((command, socket) => reply(socket, { error: { class: 'GenericError', desc: 'nope' }, id: command.id }));
    const qmp = await QmpClient.connect(path);
    const error = await qmp.execute('stop').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpCommandError);
    expect(error).toMatchObject({ command: 'stop', errorClass: 'GenericError', desc: 'nope' });
    qmp.close();
  });

  it('passes arguments and delivers asynchronous events', async () => {
    let seenArgs: unknown;
    const { path } = await fakeQmp((command, socket) => {
      seenArgs = command.arguments;
      reply(socket, { event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } });
      reply(socket, { return: {}, id: command.id });
      setTimeout(() => reply(socket, { event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' }, timestamp: { seconds: 3, microseconds: 0 } }), 20);
    });
    const qmp = await QmpClient.connect(path);
    const events: string[] = [];
    qmp.on('event', (e) => events.push(e.event));
    const shutdown = qmp.waitForEvent('SHUTDOWN', 2000);
    await qmp.execute('send-key', { keys: [{ type: 'qcode', data: 'ctrl' }] });
    expect(seenArgs).toEqual({ keys: [{ type: 'qcode', data: 'ctrl' }] });
    expect((await shutdown).data).toEqual({ guest: true, reason: 'guest-shutdown' });
    expect(events).toEqual(['STOP', 'SHUTDOWN']);
    qmp.close();
  });

  it('times out a command that gets no answer, and a missing greeting', async () => {
    const { path } = await fakeQmp(() => undefined);
    const qmp = await QmpClient.connect(path);
    await expect(qmp.execute('query-status', undefined, 100)).rejects.toThrow(/no answer within 100 ms/);
    await expect(qmp.waitForEvent('RESUME', 50)).rejects.toThrow(/no RESUME event/);
    qmp.close();

    const silent = await fakeQmp(() => undefined, { greet: false });
    await expect(QmpClient.connect(silent.path, { timeoutMs: 100 })).rejects.toThrow(QmpConnectionError);
  });

  it('fails pending commands when the connection closes, except quit, which closing answers', async () => {
    const { path } = await fakeQmp((command, socket) => {
      if (command.execute === 'quit') socket.end();
    });
    const qmp = await QmpClient.connect(path);
    const pending = qmp.execute('query-status');
    const quit = qmp.execute('quit');
    await expect(quit).resolves.toEqual({});
    await expect(pending).rejects.toThrow(/closed before query-status/);
    await qmp.closedPromise();
    expect(qmp.isClosed).toBe(true);
    await expect(qmp.execute('cont')).rejects.toThrow(QmpConnectionError);
  });

  it('reports a socket nobody listens on', async () => {
    await expect(QmpClient.connect(join(await tempDir('qmp-'), 'none.sock'), { timeoutMs: 200 })).rejects.toThrow(QmpConnectionError);
  });
});
