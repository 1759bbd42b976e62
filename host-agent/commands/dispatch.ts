import type { HostCommand } from '../../shared/messages/host.js';
import type { CommandContext } from './context.js';
import { handleDestroy } from './destroy.js';
import { handleSpawn } from './spawn.js';

/** Hands a validated command to its handler; resolves once the handler's report was sent. */
export function dispatchCommand(command: HostCommand, ctx: CommandContext): Promise<void> {
  switch (command.type) {
    case 'spawn':
      return handleSpawn(command, ctx);
    case 'destroy':
      return handleDestroy(command, ctx);
  }
}
