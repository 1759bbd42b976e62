/**
 * `npm run bench [-- --only name,name]`: each benchmark starts its own local cloud, measures,
 * and stops it. Results go to bench/results/<time>.json (and latest.json); a summary is
 * printed at the end. Nothing is asserted on timings: see bench/PROMISES.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../infra/local/state-dir.js';
import { consoles } from './benchmarks/consoles.js';
import { createLatency } from './benchmarks/create-latency.js';
import { footprint } from './benchmarks/footprint.js';
import { imageUpload } from './benchmarks/image-upload.js';
import { listServers } from './benchmarks/list-servers.js';
import { memory } from './benchmarks/memory.js';
import { network } from './benchmarks/network.js';
import { parallelCreates } from './benchmarks/parallel-creates.js';
import { realGuests } from './benchmarks/real-guests.js';
import { stopAllClouds } from './local-cloud.js';
import type { Benchmark, BenchResult } from './result.js';
import { requireNodeMajor } from '../shared/node-version.js';

requireNodeMajor('npm run bench');

const ALL: Benchmark[] = [createLatency, parallelCreates, listServers, memory, realGuests, imageUpload, network, consoles, footprint];

const { values: args } = parseArgs({ options: { only: { type: 'string' } } });
const wanted = args.only ? new Set(args.only.split(',')) : undefined;
const selected = ALL.filter((b) => !wanted || wanted.has(b.name));
if (wanted && selected.length !== wanted.size) {
  process.stderr.write(`unknown benchmark in --only; known: ${ALL.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const startedAt = new Date();
  const results: BenchResult[] = [];
  const failures: { name: string; error: string }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const bench of selected) {
    const reason = bench.unavailable?.();
    if (reason) {
      skipped.push({ name: bench.name, reason });
      say(`bench: ${bench.name} SKIPPED: ${reason}`);
      continue;
    }
    say(`bench: ${bench.name} ...`);
    try {
      const load = Math.round(loadavg()[0] * 100) / 100;
      const result = { ...(await bench.run()), loadavg_at_start: load };
      results.push(result);
      say(`bench: ${bench.name} done in ${result.seconds.toFixed(1)} s`);
    } catch (err) {
      failures.push({ name: bench.name, error: (err as Error).stack ?? String(err) });
      say(`bench: ${bench.name} FAILED: ${(err as Error).message}`);
    }
  }

  const report = {
    started_at: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version, loadavg_at_end: loadavg().map((l) => Math.round(l * 100) / 100) },
    results,
    failures,
    skipped,
  };
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(report, null, 2));

  say('');
  say(`novaless benchmarks (fake driver unless said), ${report.machine.cpus} CPUs, Node ${process.version}, ${report.seconds.toFixed(0)} s in all`);
  for (const r of results) {
    say('');
    say(`${r.title}  [${r.cloud.hosts} host(s)${r.cloud.driver ? `, ${r.cloud.driver} driver` : ''}, cloud up in ${r.cloud.boot_seconds.toFixed(1)} s; ${r.seconds.toFixed(0)} s; load average ${r.loadavg_at_start}]`);
    for (const line of r.summary) say(`  ${line}`);
    for (const p of r.problems) say(`  PROBLEM: ${p}`);
  }
  for (const s of skipped) say(`\n${s.name}: SKIPPED: ${s.reason}`);
  for (const f of failures) say(`\n${f.name}: FAILED\n${f.error}`);
  say('');
  say(`results: ${file}`);
  if (failures.length > 0) process.exitCode = 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`bench: ${signal}, stopping the clouds`);
    void stopAllClouds().finally(() => process.exit(130));
  });
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAllClouds());
