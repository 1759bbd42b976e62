/**
 * Writes a tempest workspace for a running local cloud: `tempest init`, then `etc/tempest.conf`
 * and `etc/accounts.yaml` (pre-provisioned credentials, made through the Identity API as admin),
 * with test images uploaded through the Image API. What tempest is told the cloud has
 * (`[compute-feature-enabled]`, `[service_available]`, microversions) is written down here, one
 * line per feature, beside what in functions/api/compute/ provides it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issuePasswordToken } from '../../infra/local/password-token.js';

const run = promisify(execFile);

export interface CloudEndpoint {
  /** e.g. http://127.0.0.1:8774 */
  apiUrl: string;
  /** e.g. http://127.0.0.1:8774/identity/v3 */
  authUrl: string;
  adminPassword: string;
}

export interface TempestWorkspace {
  dir: string;
  conf: string;
  accounts: string;
}

/**
 * Accounts for `--concurrency N`: tempest locks a primary, often an alt and sometimes an admin per
 * test class, per worker; each account is its own project so that "another project's server"
 * really is another project's. Three sets per worker leave room for classes that hold an extra
 * set while their resources are cleaned up.
 */
export function accountCounts(concurrency: number) {
  return { members: 3 * concurrency, admins: 2 * concurrency };
}

/**
 * What the cloud has, for tempest's `[compute-feature-enabled]`: true only where the API in
 * functions/api/compute/ implements it (the issue #9 / #10 features not built yet are false).
 */
export const computeFeatures: Record<string, boolean | string> = {
  console_output: true, // server-actions/console-output.ts
  pause: true, // server-actions/pause-server.ts
  suspend: true, // server-actions/suspend-server.ts
  snapshot: true, // server-actions/create-image.ts
  config_drive: true, // server-create.ts (the agent always attaches one, as force_config_drive)
  enable_instance_password: true, // adminPass in the create and rebuild responses
  interface_attach: true, // attach-interfaces.ts
  metadata_service: true, // host-agent/metadata/ (only checked with validation, off below)
  disk_config: false, // OS-DCF:diskConfig is accepted but always MANUAL: no AUTO partition resize
  change_password: false, // no changePassword action
  resize: true, // server-actions/resize-server.ts (one host: the tempest cloud allows resize to the same host, as devstack does)
  shelve: true, // shelve-server.ts, shelve-unshelve.ts
  shelve_migrate: false,
  cold_migration: false, // migrate-server.ts works, but tempest needs two compute nodes for it and its cloud has one
  live_migration: false, // no os-migrateLive
  live_migrate_back_and_forth: false,
  block_migration_for_live_migration: false,
  rescue: true, // server-actions/rescue-server.ts
  stable_rescue: false, // hw_rescue_device / hw_rescue_bus (2.87 stable device rescue) are not honoured
  vnc_console: false, // the fake driver's guests have no VNC (Nova's 400 "Unavailable console type novnc."); on with --driver qemu (configureTempest's vncConsole)
  spice_console: false,
  rdp_console: false,
  serial_console: false,
  personality: false, // injected files (personality) are not supported
  nova_cert: false,
  attach_encrypted_volume: false, // no volumes
  swap_volume: false,
  volume_backed_live_migration: false,
  volume_multiattach: false,
  xenapi_apis: false,
  ide_bus: false,
  unified_limits: false,
  hostname_fqdn_sanitization: false, // hostname handling of 2.90/2.94 is not there (max 2.37)
  // scheduler_enabled_filters: the scheduler's own list (functions/scheduler/filters/index.ts), read in configureTempest
};

/** The names of the scheduler's enabled filters, for tests that need one (server groups, same/different host). */
async function schedulerFilters(): Promise<string> {
  const { enabledFilters } = await import('../../functions/scheduler/filters/index.js');
  return enabledFilters.map((f) => f.name).join(',');
}

async function call(method: string, url: string, token: string | undefined, body?: unknown, raw?: Buffer): Promise<any> {
  const headers: Record<string, string> = {};
  if (token) headers['X-Auth-Token'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (raw) headers['Content-Type'] = 'application/octet-stream';
  const payload = raw ? new Uint8Array(raw) : body === undefined ? undefined : JSON.stringify(body);
  const res = await fetch(url, { method, headers, body: payload });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The compute API's microversion range, from its version document. */
export async function computeMicroversions(apiUrl: string): Promise<{ min: string; max: string }> {
  const doc = await call('GET', `${apiUrl}/compute/v2.1`, undefined);
  return { min: doc.version.min_version, max: doc.version.version };
}

/** Uploads a public qcow2 image (an empty 64 MiB disk made with qemu-img, as the fake driver needs no more). */
async function uploadImage(apiUrl: string, token: string, name: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'novaless-tempest-image-'));
  try {
    const file = join(dir, 'disk.qcow2');
    await run('qemu-img', ['create', '-f', 'qcow2', file, '64M']);
    const image = await call('POST', `${apiUrl}/image/v2/images`, token, { name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' });
    await call('PUT', `${apiUrl}/image/v2/images/${image.id}/file`, token, undefined, readFileSync(file));
    return image.id as string;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Account {
  username: string;
  project_name: string;
  password: string;
  roles?: string[];
}

/** A project and a user in it with the given role, through the Identity API. */
async function createAccount(authUrl: string, adminToken: string, name: string, role: string, roleIds: Map<string, string>): Promise<Account> {
  const password = `pw-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const { project } = await call('POST', `${authUrl}/projects`, adminToken, { project: { name, domain_id: 'default' } });
  const { user } = await call('POST', `${authUrl}/users`, adminToken, { user: { name, password, domain_id: 'default', default_project_id: project.id } });
  await call('PUT', `${authUrl}/projects/${project.id}/users/${user.id}/roles/${roleIds.get(role)}`, adminToken);
  return { username: name, project_name: name, password, ...(role === 'admin' ? { roles: ['admin'] } : {}) };
}

const ini = (sections: Record<string, Record<string, string | number | boolean>>) =>
  Object.entries(sections)
    .map(([name, opts]) => `[${name}]\n${Object.entries(opts).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`)
    .join('\n');

const yamlAccounts = (accounts: Account[]) =>
  accounts
    .map((a) => [`- username: '${a.username}'`, `  project_name: '${a.project_name}'`, `  password: '${a.password}'`, ...(a.roles ? [`  roles: [${a.roles.map((r) => `'${r}'`).join(', ')}]`] : [])].join('\n'))
    .join('\n') + '\n';

/**
 * Makes `dir` a fresh tempest workspace for the cloud: the accounts (names prefixed with `prefix`,
 * so a second workspace on the same cloud does not collide), two test images and the config.
 */
/**
 * The networks tempest's servers use when Neutron is on: a shared tenant network every test
 * project may boot on (`[compute] fixed_network_name`), and an external network for floating
 * IPs (`[network] public_network_id`, the os-floating-ips pool) with a router between them. Made as admin through the
 * Network API; the fake driver plugs nothing, so no address here is ever routed.
 */
async function createTestNetworks(apiUrl: string, adminToken: string, prefix: string, suffix: string) {
  const net = `${apiUrl}/networking/v2.0`;
  const { network: shared } = await call('POST', `${net}/networks`, adminToken, { network: { name: `${prefix}shared-${suffix}`, shared: true } });
  const { subnet } = await call('POST', `${net}/subnets`, adminToken, { subnet: { network_id: shared.id, ip_version: 4, cidr: '10.251.0.0/22', name: `${prefix}shared-subnet` } });
  const { network: pub } = await call('POST', `${net}/networks`, adminToken, { network: { name: `${prefix}public-${suffix}`, 'router:external': true } });
  await call('POST', `${net}/subnets`, adminToken, { subnet: { network_id: pub.id, ip_version: 4, cidr: '198.18.250.0/24', name: `${prefix}public-subnet`, enable_dhcp: false } });
  // Floating IPs reach the shared network's ports through a router with its gateway on the public network.
  const { router } = await call('POST', `${net}/routers`, adminToken, { router: { name: `${prefix}router-${suffix}`, external_gateway_info: { network_id: pub.id } } });
  await call('PUT', `${net}/routers/${router.id}/add_router_interface`, adminToken, { subnet_id: subnet.id });
  return { shared: shared as { id: string; name: string }, pub: pub as { id: string; name: string } };
}

export async function configureTempest(
  cloud: CloudEndpoint,
  dir: string,
  o: { concurrency: number; prefix: string; vncConsole?: boolean },
): Promise<TempestWorkspace> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // tempest init registers the workspace in a workspace file: keep that one inside the workspace too.
  await run('tempest', ['init', '--workspace-path', join(dir, '..', `${o.prefix}workspaces.yaml`), '--name', `${o.prefix}${Date.now()}`, dir]);

  const adminToken = await issuePasswordToken(cloud.authUrl, { username: 'admin', password: cloud.adminPassword, project: 'admin' });
  const { roles } = await call('GET', `${cloud.authUrl}/roles`, adminToken);
  const roleIds = new Map<string, string>(roles.map((r: { name: string; id: string }) => [r.name, r.id]));
  const counts = accountCounts(o.concurrency);
  const suffix = Date.now().toString(36);
  const accounts: Account[] = [];
  for (let n = 1; n <= counts.members; n++) accounts.push(await createAccount(cloud.authUrl, adminToken, `${o.prefix}member${n}-${suffix}`, 'member', roleIds));
  for (let n = 1; n <= counts.admins; n++) accounts.push(await createAccount(cloud.authUrl, adminToken, `${o.prefix}admin${n}-${suffix}`, 'admin', roleIds));
  const image = await uploadImage(cloud.apiUrl, adminToken, `${o.prefix}image-${suffix}`);
  const imageAlt = await uploadImage(cloud.apiUrl, adminToken, `${o.prefix}image-alt-${suffix}`);
  const versions = await computeMicroversions(cloud.apiUrl);
  const networks = await createTestNetworks(cloud.apiUrl, adminToken, o.prefix, suffix);

  const accountsFile = join(dir, 'etc', 'accounts.yaml');
  writeFileSync(accountsFile, yamlAccounts(accounts), { mode: 0o600 });
  const conf = join(dir, 'etc', 'tempest.conf');
  writeFileSync(
    conf,
    ini({
      DEFAULT: { log_dir: join(dir, 'logs'), log_file: 'tempest.log', debug: false },
      oslo_concurrency: { lock_path: join(dir, 'tempest_lock') },
      auth: {
        use_dynamic_credentials: false,
        test_accounts_file: accountsFile,
        default_credentials_domain_name: 'Default',
        create_isolated_networks: false,
        // Classes with force_tenant_isolation (the quota tests) make their own projects and users
        // with these, whatever the accounts file holds.
        admin_username: 'admin',
        admin_password: cloud.adminPassword,
        admin_project_name: 'admin',
        admin_domain_name: 'Default',
      },
      identity: { uri_v3: cloud.authUrl, auth_version: 'v3', region: 'RegionOne', v3_endpoint_type: 'public', admin_role: 'admin' },
      'identity-feature-enabled': { api_v2: false, api_v3: true },
      service_available: { nova: true, glance: true, neutron: true, cinder: false, swift: false, heat: false, horizon: false },
      network: { public_network_id: networks.pub.id, floating_network_name: networks.pub.name, project_network_cidr: '10.100.0.0/16', project_network_mask_bits: 28 },
      'network-feature-enabled': { ipv6: false, port_security: true, floating_ips: true },
      compute: {
        image_ref: image,
        image_ref_alt: imageAlt,
        flavor_ref: 1, // m1.tiny
        flavor_ref_alt: 2, // m1.small
        region: 'RegionOne',
        endpoint_type: 'publicURL',
        min_microversion: versions.min,
        max_microversion: versions.max,
        build_timeout: 120,
        build_interval: 1,
        min_compute_nodes: 1,
        fixed_network_name: networks.shared.name,
      },
      'compute-feature-enabled': { ...computeFeatures, vnc_console: o.vncConsole ?? false, scheduler_enabled_filters: await schedulerFilters() },
      image: { region: 'RegionOne', endpoint_type: 'publicURL', build_timeout: 120 },
      'image-feature-enabled': { api_v2: true, api_v1: false },
      // The fake driver's guests do not run: nothing to ping or ssh into.
      validation: { run_validation: false },
    }),
  );
  return { dir, conf, accounts: accountsFile };
}
