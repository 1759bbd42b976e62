import { join } from 'node:path';

/** The files of one guest, all in `<state_dir>/instances/<uuid>/` (Nova: instances/<uuid>/). */
export function instancePaths(instancesDir: string, instanceId: string) {
  const dir = join(instancesDir, instanceId);
  return {
    dir,
    /** The root disk: a qcow2 overlay on the cached image. */
    disk: join(dir, 'disk.qcow2'),
    configDrive: join(dir, 'disk.config.iso'),
    console: join(dir, 'console.log'),
    qmp: join(dir, 'qmp.sock'),
    vnc: join(dir, 'vnc.sock'),
    /** The serial port's socket (one client at a time: the console proxy); QEMU also logs it to `console`. */
    serial: join(dir, 'serial.sock'),
    pidfile: join(dir, 'qemu.pid'),
    /** The QEMU's own stderr (what it says before it daemonizes, and its warnings after). */
    qemuLog: join(dir, 'qemu.log'),
    /** The guest spec, so the guest can be started again without the agent's state. */
    spec: join(dir, 'spec.json'),
    /** The RAM and device state of a suspended guest (a QMP migration to a file). */
    suspended: join(dir, 'suspended.state'),
  };
}
export type InstancePaths = ReturnType<typeof instancePaths>;
