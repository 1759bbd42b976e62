import type { z } from 'zod';
import { ConductorMessageSchema } from '../shared/messages/conductor.js';
import { sendMessage } from '../shared/messages/send.js';

/** A report as the agent hands it over, before the contract's defaults are applied. */
export type ConductorReport = z.input<typeof ConductorMessageSchema>;

type WithoutStamp<T> = T extends unknown ? Omit<T, 'host' | 'at'> : never;
/** A report without the fields every report carries (its host, its time). */
export type ReportBody = WithoutStamp<ConductorReport>;

/** Where reports go: the conductor queue, or a list in tests. */
export interface ReportSink {
  send(report: ConductorReport): Promise<void>;
}

export class SqsReportSink implements ReportSink {
  constructor(private readonly conductorQueueUrl: string) {}

  send(report: ConductorReport): Promise<void> {
    return sendMessage(this.conductorQueueUrl, ConductorMessageSchema, report);
  }
}

/** Stamps each report with the agent's host name and the time it was made. */
export class Reporter {
  constructor(
    private readonly sink: ReportSink,
    readonly host: string,
  ) {}

  /** `at` is now unless given: a report of what was seen earlier (a heartbeat's power states) says when it was seen. */
  send(body: ReportBody, at = new Date().toISOString()): Promise<void> {
    return this.sink.send({ ...body, host: this.host, at } as ConductorReport);
  }
}
