import { logger } from '../../shared/logger.js';
import { sweepOverdueInstances } from './sweep.js';

/** Lambda entry point, run on a schedule (EventBridge in AWS, a timer in the local runtime). */
export async function handler(): Promise<{ errored: number; deleted: number }> {
  const result = await sweepOverdueInstances();
  if (result.errored || result.deleted) logger.info('sweep done', result);
  return result;
}
