import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

/**
 * A small client for QMP, QEMU's monitor protocol, on a unix socket: line-delimited JSON.
 * QEMU sends a greeting, the client answers `qmp_capabilities`, then each command
 * `{execute, arguments, id}` gets `{return, id}` or `{error: {class, desc}, id}`, and QEMU
 * sends asynchronous `{event, data, timestamp}` lines (SHUTDOWN, POWERDOWN, STOP, RESUME, ...)
 * at any time. QEMU accepts one QMP client per monitor at a time.
 */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU answered a command with an error (class and description as QEMU gives them). */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.name = 'QmpCommandError';
  }
}

/** The connection closed, timed out or never spoke QMP. */
export class QmpConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpConnectionError';
  }
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface QmpConnectOptions {
  /** How long to wait for the socket, the greeting and the handshake. */
  timeoutMs?: number;
  /** Default time a command may take. */
  commandTimeoutMs?: number;
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private greeted?: (greeting: Record<string, unknown>) => void;
  /** What QEMU said about itself in the greeting. */
  version?: { qemu: { major: number; minor: number; micro: number }; package?: string };

  private constructor(
    private readonly socket: Socket,
    private readonly commandTimeoutMs: number,
  ) {
    super();
  }

  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const socket = connect(path);
    const client = new QmpClient(socket, options.commandTimeoutMs ?? 30_000);
    try {
      const greeting = await client.start(timeoutMs);
      client.version = (greeting.QMP as { version?: QmpClient['version'] } | undefined)?.version;
      await client.execute('qmp_capabilities', undefined, timeoutMs);
      return client;
    } catch (error) {
      client.close();
      throw error instanceof QmpCommandError ? error : new QmpConnectionError(`QMP at ${path}: ${(error as Error).message}`);
    }
  }

  /** Runs a command and resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = this.commandTimeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new QmpConnectionError(`QMP connection closed before ${command}`));
    const id = `novaless-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpConnectionError(`QMP ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Resolves with the first event named `name` (and matching `filter`) within timeoutMs. */
  waitForEvent(name: string, timeoutMs: number, filter: (event: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const onEvent = (event: QmpEvent) => {
        if (event.event !== name || !filter(event)) return;
        cleanup();
        resolve(event);
      };
      const onClose = () => {
        cleanup();
        reject(new QmpConnectionError(`QMP connection closed while waiting for ${name}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new QmpConnectionError(`no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      this.on('event', onEvent);
      this.once('close', onClose);
    });
  }

  /** Resolves when QEMU closes the connection (after `quit`, or when the guest powers off). */
  closedPromise(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.once('close', () => resolve()));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private start(timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, greeting?: Record<string, unknown>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.greeted = undefined;
        if (error) reject(error);
        else resolve(greeting!);
      };
      const timer = setTimeout(() => settle(new Error(`no QMP greeting within ${timeoutMs} ms`)), timeoutMs);
      this.greeted = (greeting) => settle(undefined, greeting);
      this.socket.on('error', (error) => {
        settle(error);
        this.onClose();
      });
      this.socket.on('close', () => {
        settle(new Error('connection closed before the QMP greeting'));
        this.onClose();
      });
      this.socket.setEncoding('utf8');
      this.socket.on('data', (chunk: string) => this.onData(chunk));
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON; anything else is noise we cannot act on.
    }
    if ('QMP' in message) {
      this.greeted?.(message);
      return;
    }
    if (typeof message.event === 'string') {
      this.emit('event', message as unknown as QmpEvent);
      return;
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    const pending = id ? this.pending.get(id) : undefined;
    if (!id || !pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      pending.reject(new QmpCommandError(pending.command, error.class ?? 'GenericError', error.desc ?? 'unknown error'));
    } else {
      pending.resolve(message.return);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      // `quit` is answered, but QEMU may close the socket before the answer is read.
      if (pending.command === 'quit') pending.resolve({});
      else pending.reject(new QmpConnectionError(`QMP connection closed before ${pending.command} was answered`));
      this.pending.delete(id);
    }
    this.emit('close');
  }
}
