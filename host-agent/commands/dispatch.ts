import type { HostCommand } from '../../shared/messages/host.js';
import { handleAttachInterface, handleDetachInterface } from './attach-interface.js';
import type { CommandContext } from './context.js';
import { handleDestroy } from './destroy.js';
import type { NetworkPlans } from './network-plan.js';
import { handlePause, handleUnpause } from './pause.js';
import { handlePowerOff, handlePowerOn } from './power.js';
import { handleReboot } from './reboot.js';
import { handleRebuild } from './rebuild.js';
import { handleConfirmResize, handleFinishResize, handleFinishRevertResize, handleResizeInstance, handleRevertResize } from './resize.js';
import { handleRescue, handleUnrescue } from './rescue.js';
import { handleShelve } from './shelve.js';
import { handleSnapshot } from './snapshot.js';
import { handleSpawn } from './spawn.js';
import { handleResume, handleSuspend } from './suspend.js';
import { handleTriggerCrashDump } from './trigger-crash-dump.js';

/** A handler's context, with the host's network plans (absent = this agent does not take plans). */
export type DispatchContext = CommandContext & { networkPlans?: NetworkPlans };

/** Hands a validated command to its handler; resolves once the handler's report was sent. */
export async function dispatchCommand(command: HostCommand, ctx: DispatchContext): Promise<void> {
  switch (command.type) {
    case 'spawn':
      return handleSpawn(command, ctx);
    case 'destroy':
      return handleDestroy(command, ctx);
    case 'power_off':
      return handlePowerOff(command, ctx);
    case 'power_on':
      return handlePowerOn(command, ctx);
    case 'reboot':
      return handleReboot(command, ctx);
    case 'pause':
      return handlePause(command, ctx);
    case 'unpause':
      return handleUnpause(command, ctx);
    case 'suspend':
      return handleSuspend(command, ctx);
    case 'resume':
      return handleResume(command, ctx);
    case 'rebuild':
      return handleRebuild(command, ctx);
    case 'rescue':
      return handleRescue(command, ctx);
    case 'unrescue':
      return handleUnrescue(command, ctx);
    case 'snapshot':
      return handleSnapshot(command, ctx);
    case 'shelve':
      return handleShelve(command, ctx);
    case 'attach_interface':
      return handleAttachInterface(command, ctx);
    case 'detach_interface':
      return handleDetachInterface(command, ctx);
    case 'trigger_crash_dump':
      return handleTriggerCrashDump(command, ctx);
    case 'resize_instance':
      return handleResizeInstance(command, ctx);
    case 'finish_resize':
      return handleFinishResize(command, ctx);
    case 'confirm_resize':
      return handleConfirmResize(command, ctx);
    case 'revert_resize':
      return handleRevertResize(command, ctx);
    case 'finish_revert_resize':
      return handleFinishRevertResize(command, ctx);
    case 'network_plan':
      if (!ctx.networkPlans) return ctx.log.warn('this agent takes no network plans: ignoring one');
      return ctx.networkPlans.handle(command, ctx.log);
  }
}
