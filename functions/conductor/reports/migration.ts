import type { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { InstanceActionName, TaskState, VmState } from '../../../shared/domain/instance-states.js';
import type { Migration } from '../../../shared/domain/migration.js';
import { logger } from '../../../shared/logger.js';
import type { MigrationReportSchema } from '../../../shared/messages/conductor.js';
import { sendDestroy } from '../../../shared/messages/host-commands.js';
import { sendFinishResize, sendFinishRevertResize, sendRollback, type MovingInstance } from '../../../shared/moves/move-commands.js';
import { finishMoveEvent, moveActionOf } from '../../../shared/moves/move-events.js';
import { completeConfirm, completeRevert, finishMove, rollBackMove } from '../../../shared/moves/move-transitions.js';
import { deadlineFor, getInstance, transact, versionedUpdate } from '../../../shared/store/instances.js';
import { getMigration, migrationUpdate } from '../../../shared/store/migrations.js';

type MigrationReport = z.infer<typeof MigrationReportSchema>;

/** The forward steps of a move, during which a failure sends the guest back to its source. */
const FORWARD_TASKS: readonly (TaskState | null)[] = [TaskState.RESIZE_PREP, TaskState.RESIZE_MIGRATING, TaskState.RESIZE_MIGRATED, TaskState.RESIZE_FINISH];

/**
 * A host did (or failed) its step of a move: the conductor applies it and hands the next step to
 * the other host (Nova's compute managers calling each other, here through the conductor). Each
 * change is conditional on the instance still waiting for exactly this step of this migration
 * from this host; anything else is a late or repeated report, answered only where a host holds
 * something it should not (a guest set aside or built for a move that is over).
 */
export async function onMigrationReport(report: MigrationReport): Promise<void> {
  // A write lost to another writer of the instance (a rename, a power sync) is tried again on fresh reads.
  for (let attempt = 0; attempt < 3; attempt++) {
    const [migration, instance] = await Promise.all([getMigration(report.migration_id), getInstance(report.instance_id)]);
    if (!migration) return logger.warn('a host reported a step of an unknown migration', { migration_id: report.migration_id, step: report.step });
    if (!instance || instance.move?.migration_id !== migration.uuid) return onStaleReport(report, migration, instance);
    if ((await applyStep(instance as MovingInstance, migration, report)) !== 'raced') return;
  }
  throw new Error(`could not apply ${report.step} of migration ${report.migration_id}: the instance kept changing`);
}

type Outcome = 'applied' | 'stale' | 'raced';

async function applyStep(i: MovingInstance, migration: Migration, report: MigrationReport): Promise<Outcome> {
  const stale = (why: string): Outcome => {
    logger.info('ignoring a stale migration report', { step: report.step, migration_id: migration.uuid, why });
    return 'stale';
  };
  const applied = async (done: boolean, then: () => Promise<void>): Promise<Outcome> => {
    if (!done) return 'raced';
    await then();
    return 'applied';
  };
  const start = report.started_at ?? report.at;
  switch (report.step) {
    case 'disk_ready': {
      if (report.host !== i.move.source_host) return stale('not from the source');
      if (i.task_state === TaskState.RESIZE_FINISH) return applied(true, () => sendFinishResize(i, report.request_id));
      if (i.task_state !== TaskState.RESIZE_MIGRATING) return stale(`task ${i.task_state}`);
      // The source powered the guest off and set it aside: the destination builds it (task resize_finish, migration post-migrating).
      const now = new Date().toISOString();
      const changes = { task_state: TaskState.RESIZE_FINISH, task_deadline: deadlineFor(TaskState.RESIZE_FINISH), power_state: report.power_state };
      const done = await transact([versionedUpdate(i, changes, now), migrationUpdate(migration.uuid, ['migrating'], { status: 'post-migrating' }, now)]);
      return applied(done, () => sendFinishResize({ ...i, ...changes }, report.request_id));
    }
    case 'finished':
      if (report.host !== i.move.dest_host || i.task_state !== TaskState.RESIZE_FINISH) return stale(`task ${i.task_state} on ${i.move.dest_host}`);
      return applied(await finishMove(i, migration, report.power_state), () =>
        finishMoveEvent(i.id, migration.request_id, moveActionOf(migration), { start: migration.created_at, finish: report.at }),
      );
    case 'confirmed':
      if (report.host !== i.move.source_host || i.task_state !== TaskState.RESIZE_CONFIRMING) return stale(`task ${i.task_state}`);
      return applied(await completeConfirm(i, migration), () => finishMoveEvent(i.id, report.request_id, InstanceActionName.CONFIRM_RESIZE, { start, finish: report.at }));
    case 'dest_reverted':
      if (report.host !== i.move.dest_host || i.task_state !== TaskState.RESIZE_REVERTING) return stale(`task ${i.task_state}`);
      return applied(true, () => sendFinishRevertResize(i, report.request_id));
    case 'reverted':
      if (report.host !== i.move.source_host || i.task_state !== TaskState.RESIZE_REVERTING) return stale(`task ${i.task_state}`);
      return applied(await completeRevert(i, migration, report.power_state), () => finishMoveEvent(i.id, report.request_id, InstanceActionName.REVERT_RESIZE, { start, finish: report.at }));
    case 'failed':
      return onStepFailed(i, migration, report, stale);
  }
}

async function onStepFailed(i: MovingInstance, m: Migration, report: MigrationReport, stale: (why: string) => Outcome): Promise<Outcome> {
  const reason = `${report.command ?? 'move'} of instance ${i.id} failed on ${report.host}: ${report.reason ?? 'unknown error'}`;
  const start = report.started_at ?? report.at;
  logger.warn('move step failed', { instance_id: i.id, migration_id: m.uuid, reason });
  if (FORWARD_TASKS.includes(i.task_state)) {
    // As Nova's InstanceFaultRollback: the server goes back to its source, in its old state, with the fault.
    if (!(await rollBackMove(i, m, reason))) return 'raced';
    await sendRollback(i, report.request_id);
    await finishMoveEvent(i.id, m.request_id, moveActionOf(m), { start: m.created_at, finish: report.at, error: reason });
    return 'applied';
  }
  if (i.task_state === TaskState.RESIZE_CONFIRMING) {
    // The guest runs on the destination whatever happened to the source's copy.
    if (!(await completeConfirm(i, m))) return 'raced';
    await finishMoveEvent(i.id, report.request_id, InstanceActionName.CONFIRM_RESIZE, { start, finish: report.at, error: reason });
    return 'applied';
  }
  if (i.task_state === TaskState.RESIZE_REVERTING) {
    if (!(await rollBackMove(i, m, reason, { error: true }))) return 'raced';
    await finishMoveEvent(i.id, report.request_id, InstanceActionName.REVERT_RESIZE, { start, finish: report.at, error: reason });
    return 'applied';
  }
  return stale(`task ${i.task_state}`);
}

/**
 * A report of a migration the instance is no longer in (rolled back, reverted, deleted): a
 * source that set its guest aside late brings it back; a destination that built a guest for it
 * destroys it, unless the guest lives there.
 */
async function onStaleReport(report: MigrationReport, m: Migration, i: Instance | undefined): Promise<void> {
  logger.info('report of a move that is over', { step: report.step, migration_id: m.uuid, status: m.status });
  if (!i) return report.step === 'finished' ? sendDestroy(report.host, report.instance_id, report.request_id) : undefined;
  if (report.step === 'disk_ready' && i.host === report.host) {
    const move = { migration_id: m.uuid, old_flavor: i.flavor, new_flavor: i.flavor, source_host: report.host, dest_host: null, other_claim: null, on_dest: false, old_vm_state: i.vm_state === VmState.STOPPED ? VmState.STOPPED : VmState.ACTIVE } as const;
    return sendFinishRevertResize({ ...i, move }, report.request_id);
  }
  if (report.step === 'finished' && i.host !== report.host) return sendDestroy(report.host, report.instance_id, report.request_id);
}
