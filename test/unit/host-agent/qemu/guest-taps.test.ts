import { describe, expect, it } from 'vitest';
import { ensureGuestTaps } from '../../../../host-agent/drivers/qemu/guest-taps.js';
import { CommandError, commandLine, type CommandRunner } from '../../../../host-agent/network/command-runner.js';
import type { GuestNic } from '../../../../shared/messages/host.js';
import { silentLogger } from '../support.js';

const NIC: GuestNic = {
  port_id: 'a1000000-0000-4000-8000-000000000001',
  network_id: '1e000000-0000-4000-8000-000000000001',
  mac_address: 'fa:16:3e:00:00:01',
  mtu: 1450,
  tap_name: 'tapa1000000-00',
  fixed_ips: [],
};

/** Records the commands (as they would run) and answers `ip link show` with the device given, or "does not exist". */
function fakeRunner(device?: object): CommandRunner & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    async run(program, args, options) {
      const line = commandLine(program, args, options?.netns);
      if (args.includes('show')) {
        if (!device) throw new CommandError(line, 1, `Device "${NIC.tap_name}" does not exist.`);
        return JSON.stringify([device]);
      }
      commands.push(line.join(' '));
      return '';
    },
  };
}

const tap = (info: object, master?: string) => ({ ifname: NIC.tap_name, mtu: 1450, master, linkinfo: { info_kind: 'tun', info_data: { type: 'tap', pi: false, vnet_hdr: true, persist: true, ...info } } });

describe('the taps of a guest’s NICs', () => {
  it('leaves a single-queue tap the data plane made alone', async () => {
    const runner = fakeRunner(tap({ multi_queue: false }, 'brq1e000000-00'));
    await ensureGuestTaps([NIC], { runner, netns: 'nl-h1', log: silentLogger() });
    expect(runner.commands).toEqual([]);
  });

  it('creates a missing tap in the namespace, persistent with vnet_hdr, and leaves it unattached', async () => {
    const runner = fakeRunner();
    await ensureGuestTaps([NIC], { runner, netns: 'nl-h1', log: silentLogger() });
    expect(runner.commands).toEqual([
      'ip -n nl-h1 tuntap add dev tapa1000000-00 mode tap vnet_hdr',
      'ip netns exec nl-h1 sysctl -qw net.ipv6.conf.tapa1000000-00.disable_ipv6=1',
      'ip -n nl-h1 link set tapa1000000-00 mtu 1450',
    ]);
  });

  it('makes a multi-queue tap (which QEMU could not open: EINVAL) again, on the same bridge', async () => {
    const runner = fakeRunner(tap({ multi_queue: true }, 'brq1e000000-00'));
    await ensureGuestTaps([NIC], { runner, log: silentLogger() });
    expect(runner.commands).toEqual([
      'ip link del tapa1000000-00',
      'ip tuntap add dev tapa1000000-00 mode tap vnet_hdr',
      'sysctl -qw net.ipv6.conf.tapa1000000-00.disable_ipv6=1',
      'ip link set tapa1000000-00 mtu 1450',
      'ip link set tapa1000000-00 master brq1e000000-00 up',
    ]);
  });

  it('fails on other errors (a namespace that is not there)', async () => {
    const runner: CommandRunner = {
      run: async () => {
        throw new CommandError(['ip'], 1, 'Cannot open network namespace "nl-x": No such file or directory');
      },
    };
    await expect(ensureGuestTaps([NIC], { runner, netns: 'nl-x', log: silentLogger() })).rejects.toThrow(/Cannot open network namespace/);
  });
});
