/** Neutron's default per-project quotas (the [quotas] section of neutron.conf). */
export const NETWORK_QUOTA_DEFAULTS = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
} as const;
export type NetworkQuotaResource = keyof typeof NETWORK_QUOTA_DEFAULTS;
