import type { Logger } from '@aws-lambda-powertools/logger';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HostNetworkPlanSchema, type HostNetworkPlan } from '../../shared/domain/network/host-plan.js';
import type { HostCommand } from '../../shared/messages/host.js';
import type { AgentConfig } from '../config.js';
import { execRunner, type CommandRunner } from '../network/command-runner.js';
import { applyHostNetworkState, describeSummary, type DataPlaneOptions, type DataPlaneSummary } from '../network/data-plane.js';
import type { HostNetworkStateInput } from '../network/desired-state.js';
import type { Reporter } from '../reports.js';

type NetworkPlanCommand = Extract<HostCommand, { type: 'network_plan' }>;

/** What the agent remembers of its network: the newest plan it was sent, whole, so a restart re-applies it. */
const AppliedPlanSchema = z.object({ applied_at: z.string(), plan: HostNetworkPlanSchema });

export interface NetworkPlanOptions {
  config: Pick<AgentConfig, 'state_dir' | 'host_ip' | 'network'>;
  reporter: Reporter;
  /** Whether plans change the kernel (the qemu driver) or are only recorded (the fake driver, many hosts on one machine). */
  applyToKernel: boolean;
  runner?: CommandRunner;
  /** Tests: stands in for applyHostNetworkState. */
  apply?: (state: HostNetworkStateInput, options: DataPlaneOptions) => Promise<DataPlaneSummary>;
}

/**
 * The host's side of the network plans (Neutron's L2/L3/DHCP agents in one): keeps the newest
 * plan it was sent, applies it to the data plane, and tells the conductor its ports are
 * plugged. Plans are applied one at a time, newest wins: one older than (or as old as) the last
 * applied is ignored, since SQS reorders and repeats. The plan is kept in
 * `<state_dir>/network/plan.json` and applied again when the agent starts, before it does
 * anything else, so a restarted agent (or a rebooted host) has its guests' network back.
 */
export class NetworkPlans {
  private readonly dir: string;
  private readonly file: string;
  private last: HostNetworkPlan | undefined;
  /** The revision this run has applied whole (a kept plan whose apply failed is applied again when it comes back). */
  private appliedRevision = 0;
  private loaded = false;
  private queue: Promise<unknown> = Promise.resolve();
  private tmpCounter = 0;

  constructor(private readonly options: NetworkPlanOptions) {
    this.dir = join(options.config.state_dir, 'network');
    this.file = join(this.dir, 'plan.json');
  }

  /** The newest plan kept (what the data plane holds, or is being brought to); undefined before the first. */
  current(): Promise<HostNetworkPlan | undefined> {
    return this.lastPlan();
  }

  /** The revision of the newest plan kept (0 = none yet). */
  async lastRevision(): Promise<number> {
    return (await this.lastPlan())?.revision ?? 0;
  }

  /** At start: applies the plan the previous run applied, if any. Returns whether there was one. */
  restore(log: Logger): Promise<boolean> {
    return this.serialised(async () => {
      const plan = await this.lastPlan();
      if (!plan) return false;
      log.info(`re-applying the network plan of revision ${plan.revision} kept by the previous run`);
      await this.applyToDataPlane(plan, log);
      this.appliedRevision = plan.revision;
      return true;
    });
  }

  /** A `network_plan` command: applied if newer than the last one, then its ports reported plugged. */
  handle(command: NetworkPlanCommand, log: Logger): Promise<void> {
    return this.serialised(async () => {
      const { plan } = command;
      const kept = await this.lastRevision();
      if (plan.revision < kept || (plan.revision === kept && this.appliedRevision === kept)) {
        log.info(`ignoring network plan revision ${plan.revision}: revision ${kept} is already applied`);
        return;
      }
      // Kept before it is applied: an agent killed half-way re-applies this plan at start, not an older one.
      await this.record(plan);
      await this.applyToDataPlane(plan, log);
      this.appliedRevision = plan.revision;
      await this.options.reporter.send({ type: 'ports_plugged', request_id: command.request_id, port_ids: plan.ports.map((p) => p.id) });
    });
  }

  private async applyToDataPlane(plan: HostNetworkPlan, log: Logger): Promise<void> {
    const counts = `${plan.networks.length} networks, ${plan.ports.length} ports, ${plan.security_groups.length} security groups, ${plan.routers.length} routers`;
    if (!this.options.applyToKernel) {
      log.info(`recorded network plan revision ${plan.revision} (${counts}); the fake driver applies nothing to the kernel`);
      return;
    }
    const { network, host_ip } = this.options.config;
    const { revision: _revision, ...desired } = plan;
    const state: HostNetworkStateInput = {
      ...desired,
      netns: network.netns,
      underlay_ip: network.tunnel_ip ?? host_ip,
      underlay_dev: network.underlay_dev,
      external_bridge: network.external_bridge,
    };
    const apply = this.options.apply ?? applyHostNetworkState;
    const summary = await apply(state, { runner: this.options.runner ?? execRunner, stateDir: this.dir, log: (message) => log.info(message) });
    log.info(`applied network plan revision ${plan.revision} (${counts}): ${describeSummary(summary)}`);
  }

  private async lastPlan(): Promise<HostNetworkPlan | undefined> {
    if (this.loaded) return this.last;
    let text: string | undefined;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // A file that does not parse is not trusted: the plan the agent asks for at start replaces it.
    const parsed = text === undefined ? undefined : AppliedPlanSchema.safeParse(safeJson(text));
    this.last = parsed?.success ? parsed.data.plan : undefined;
    this.loaded = true;
    return this.last;
  }

  /** Writes the plan atomically (temporary file, fsync, rename), then remembers it. */
  private async record(plan: HostNetworkPlan): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `plan.json.${process.pid}.${++this.tmpCounter}.tmp`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify({ applied_at: new Date().toISOString(), plan }, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    this.last = plan;
  }

  /** One plan at a time, in the order they arrive. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Where an agent keeps its last applied plan (tests read it). */
export const appliedPlanFile = (stateDir: string) => join(stateDir, 'network', 'plan.json');
