export const UNIT_NAME = 'novaless-host-agent.service';

export interface UnitOptions {
  /** The command that runs the agent (node + the CLI), as absolute paths. */
  execStart: string[];
  configFile: string;
  environmentFile: string;
}

/**
 * The agent's systemd unit. KillMode=process: stopping or restarting the unit ends only the
 * agent, never the guests' QEMU processes (they are daemons in their own sessions anyway, and
 * the agent re-attaches to them when it starts again). Restart=always brings the agent back
 * after a crash or a kill -9.
 */
export function systemdUnit(o: UnitOptions): string {
  return `[Unit]
Description=novaless host agent (runs this host's guests)
Documentation=file://${o.configFile}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
EnvironmentFile=-${o.environmentFile}
ExecStart=${o.execStart.map(quoteArg).join(' ')} run --config ${quoteArg(o.configFile)}
Restart=always
RestartSec=5
KillMode=process
TimeoutStopSec=60
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}

function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}
