import { open, stat, truncate } from 'node:fs/promises';

/** What is kept of a guest's serial console. */
export const CONSOLE_KEEP_BYTES = 1024 * 1024;
/** A console log is cut back to CONSOLE_KEEP_BYTES once it grows past this. */
export const CONSOLE_MAX_BYTES = 2 * 1024 * 1024;

/** The last `maxBytes` of a file as text ('' when it does not exist). */
export async function readTail(path: string, maxBytes = CONSOLE_KEEP_BYTES): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The last `lines` lines of a console text (all of it when lines is undefined). */
export function lastLines(text: string, lines?: number): string {
  if (lines === undefined) return text;
  if (lines <= 0) return '';
  const parts = text.split('\n');
  // A trailing newline ends the last line rather than starting an empty one.
  const trailing = parts[parts.length - 1] === '' ? parts.pop() : undefined;
  return parts.slice(-lines).join('\n') + (trailing !== undefined ? '\n' : '');
}

/**
 * Cuts a console log QEMU appends to (O_APPEND) back to its last `keepBytes` once it is larger
 * than `maxBytes`: QEMU keeps writing at the new end. Bytes the guest writes between the read and
 * the rewrite are lost, a price paid only when the cap is hit.
 */
export async function capConsoleLog(path: string, maxBytes = CONSOLE_MAX_BYTES, keepBytes = CONSOLE_KEEP_BYTES): Promise<boolean> {
  const size = await stat(path).then((s) => s.size, () => 0);
  if (size <= maxBytes) return false;
  const tail = Buffer.from(await readTail(path, keepBytes), 'utf8');
  await truncate(path, 0);
  const handle = await open(path, 'a');
  try {
    await handle.write(tail);
  } finally {
    await handle.close();
  }
  return true;
}
