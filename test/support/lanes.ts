/**
 * Test files run in lanes: vitest workers, each with its own local cloud (global-setup.ts).
 * Two by default, as the machines have two cores; one when the command names a single test file
 * (no second cloud to start for nothing); NOVALESS_TEST_LANES=N sets it.
 */
export function testLanes(argv = process.argv): number {
  if (process.env.NOVALESS_TEST_LANES) return Math.max(1, Number(process.env.NOVALESS_TEST_LANES) || 1);
  return argv.filter((a) => a.endsWith('.test.ts')).length === 1 ? 1 : 2;
}

/** This worker's lane, 0-based, among `lanes` (vitest numbers its workers 1..maxWorkers in VITEST_POOL_ID). */
export const currentLane = (lanes: number) => (Math.max(1, Number(process.env.VITEST_POOL_ID ?? 1)) - 1) % lanes;
