import { setTimeout as sleep } from 'node:timers/promises';
import { shellQuote } from './qemu-process.js';
import type { QmpClient } from './qmp-client.js';

/**
 * Nova's managed save (libvirt's, used by suspend) on QMP: the guest's RAM and device state go
 * to a file by a migration, and come back by starting QEMU with `-incoming exec:cat <file>`.
 */

/** Stops the guest, writes its state to `file` and quits QEMU. */
export async function saveGuestState(qmp: QmpClient, file: string): Promise<void> {
  await qmp.execute('stop');
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3 });
  await qmp.execute('migrate', { uri: `exec:cat > ${shellQuote(file)}` });
  for (;;) {
    const { status, 'error-desc': error } = await qmp.execute<{ status: string; 'error-desc'?: string }>('query-migrate');
    if (status === 'completed') break;
    if (status === 'failed' || status === 'cancelled') throw new Error(`saving the guest's state failed: ${error ?? status}`);
    await sleep(100);
  }
  await qmp.execute('quit');
}

/**
 * Waits until a QEMU started with -incoming has read the whole state (it then starts the guest
 * itself: no -S), and makes it run if it came back stopped.
 */
export async function waitRestored(queryStatus: () => Promise<string>, cont: () => Promise<unknown>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status = 'inmigrate';
  while (status === 'inmigrate' || status === 'prelaunch' || status === 'finish-migrate') {
    if (Date.now() > deadline) throw new Error(`restoring the suspended guest took more than ${timeoutMs / 1000} s`);
    await sleep(100);
    status = await queryStatus();
  }
  if (status !== 'running') await cont();
}
