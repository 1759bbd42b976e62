import type { Host } from '../../../shared/domain/host.js';
import type { HostFilter } from './host-filter.js';

/**
 * Nova's ImagePropertiesFilter: an image that names an architecture, hypervisor type or VM mode
 * runs only on a host that offers it. A host offers its own architecture, `hvm`, and its virt
 * type (KVM hosts also run plain QEMU, as libvirt's do; the fake driver stands in for QEMU).
 */
function offered(host: Host): { architectures: string[]; hypervisorTypes: string[]; vmModes: string[] } {
  const types = host.virt_type === 'kvm' ? ['kvm', 'qemu'] : host.virt_type === 'fake' ? ['fake', 'qemu'] : [host.virt_type];
  return { architectures: [host.architecture ?? 'x86_64'], hypervisorTypes: types, vmModes: ['hvm'] };
}

const normalized = (value: string | undefined) => value?.trim().toLowerCase() || undefined;

export const ImagePropertiesFilter: HostFilter = {
  name: 'ImagePropertiesFilter',
  passes: (host, spec) => {
    const p = spec.imageProperties;
    const architecture = normalized(p.hw_architecture ?? p.architecture);
    const hypervisorType = normalized(p.img_hv_type ?? p.hypervisor_type);
    const vmMode = normalized(p.hw_vm_mode ?? p.vm_mode);
    if (!architecture && !hypervisorType && !vmMode) return true;
    const o = offered(host);
    return (!architecture || o.architectures.includes(architecture)) && (!hypervisorType || o.hypervisorTypes.includes(hypervisorType)) && (!vmMode || o.vmModes.includes(vmMode));
  },
};
