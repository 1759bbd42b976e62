import type { HostWeigher } from './host-weigher.js';

/** Spread: prefer the host with the most free RAM (Nova's RAMWeigher, ram_weight_multiplier 1.0). */
export const RamWeigher: HostWeigher = {
  name: 'RAMWeigher',
  multiplier: 1.0,
  weigh: (host) => host.memory_mb_limit - host.used_memory_mb,
};
