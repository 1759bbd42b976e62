import { logger } from '../../shared/logger.js';
import { sweepOverdueInstances, type SweepResult } from './sweep.js';

/** Lambda entry point, run on a schedule (EventBridge in AWS, a timer in the local runtime). */
export async function handler(): Promise<SweepResult> {
  const result = await sweepOverdueInstances();
  if (result.errored || result.deleted || result.reclaimed) logger.info('sweep done', result);
  return result;
}
