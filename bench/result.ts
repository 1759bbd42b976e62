import type { CloudShape } from './local-cloud.js';

/** What one benchmark hands back: written as JSON under bench/results/, summarized on the console. */
export interface BenchResult {
  name: string;
  title: string;
  cloud: CloudShape & { boot_seconds: number };
  /** The machine's 1-minute load average when the benchmark started (others may share it). */
  loadavg_at_start?: number;
  /** How it was measured (the choices a reader needs to interpret the numbers). */
  method: string[];
  metrics: Record<string, unknown>;
  /** Lines for the human summary. */
  summary: string[];
  /** Correctness problems seen while measuring (an over-claimed host, a server in ERROR, ...). */
  problems: string[];
  seconds: number;
}

export interface Benchmark {
  name: string;
  /** Why it cannot run on this machine (a missing tool), or undefined when it can. */
  unavailable?(): string | undefined;
  run(): Promise<BenchResult>;
}
