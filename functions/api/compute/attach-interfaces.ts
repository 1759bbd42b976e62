import { z } from 'zod';
import type { Instance } from '../../../shared/domain/instance.js';
import { ACTION_EVENTS, InstanceActionName } from '../../../shared/domain/instance-states.js';
import type { Port } from '../../../shared/domain/network/port.js';
import { BadRequest, NotFound, UnsupportedMediaType } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { guestNicsOf, sendHostCommand } from '../../../shared/messages/host-commands.js';
import { bindDevicePorts, hostsAffectedByPorts, syncHostNetworks } from '../../../shared/network-plan/sync.js';
import { finishEvent, newAction, recordAction } from '../../../shared/store/instance-actions.js';
import { refreshDeviceAddresses } from '../../../shared/store/network/device-ports.js';
import { disassociatePortFloatingIps } from '../../../shared/store/network/floating-ips.js';
import { deletePort, getPort, listDevicePorts, updatePort } from '../../../shared/store/network/ports.js';
import { json, validate } from '../http/body.js';
import type { ApiRequest, ApiResponse, Route } from '../http/types.js';
import { checkActionAllowed, checkHasHost } from './server-actions/guest-task.js';
import { DeviceTag } from './server-create.js';
import { loadInstance, modifyInstance } from './server-access.js';
import { allocatePort, availableNetworks, novaErrorOf, resolveNics, resolveSecurityGroups, type NicRequest } from './server-networks.js';

/**
 * Nova's os-interface (nova/api/openstack/compute/attach_interfaces.py), microversion 2.1: a
 * server's ports as interface attachments, and hot-plug. Attach makes the port (or binds the
 * user's), binds it to the server's host, pushes the network plans and asks the host to plug the
 * NIC; detach asks the host to unplug it, then deletes the port Nova made (or unbinds the user's).
 * Like Nova, neither sets a task state; the instance action records the request, its event
 * finished once the host command is queued (the host logs what it does with it).
 */

const BASE = '/compute/v2.1/servers/{server_id}/os-interface';

const AttachmentFields = {
  net_id: z.string().uuid().optional(),
  port_id: z.string().uuid().optional(),
  fixed_ips: z.array(z.strictObject({ ip_address: z.string() })).max(1).optional(),
};
const AttachBody = z.strictObject({ interfaceAttachment: z.strictObject(AttachmentFields).optional() });
/** 2.49 adds a device tag, shown in the metadata's `devices` (and, from 2.70, in these views). */
const AttachBodyV249 = z.strictObject({ interfaceAttachment: z.strictObject({ ...AttachmentFields, tag: DeviceTag.optional() }).optional() });
type Attachment = NonNullable<z.infer<typeof AttachBodyV249>['interfaceAttachment']>;

/** Nova's _translate_interface_attachment_view; 2.70 adds the port's device tag (null when none). */
export function attachmentView(port: Port, tags?: Instance['device_tags']) {
  return {
    port_state: port.status,
    fixed_ips: port.fixed_ips.map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address })),
    port_id: port.id,
    net_id: port.network_id,
    mac_addr: port.mac_address,
    ...(tags && { tag: tags[port.id] ?? null }),
  };
}

/** The server's device tags when the request's version shows them (2.70). */
const tagsShown = (req: Pick<ApiRequest, 'microversion'>, i: Instance) => (req.microversion.atLeast('2.70') ? i.device_tags : undefined);

/** The request's attachment; no body, `{}` and `{"interfaceAttachment": {}}` all mean "the one available network". */
export function parseAttachment(req: Pick<ApiRequest, 'body' | 'headers'> & Partial<Pick<ApiRequest, 'microversion'>>): Attachment {
  const type = req.headers['content-type'];
  if (type && !/json/i.test(type)) throw new UnsupportedMediaType(`Unsupported Content-Type ${type}`);
  const text = req.body.toString('utf8').trim();
  let data: unknown = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new BadRequest('Malformed request body');
    }
  }
  const attachment: Attachment = validate(req.microversion?.atLeast('2.49') ? AttachBodyV249 : AttachBody, data).interfaceAttachment ?? {};
  if (attachment.net_id && attachment.port_id) throw new BadRequest('Must not input both network_id and port_id');
  if (attachment.fixed_ips?.length && !attachment.net_id) throw new BadRequest('Must input network_id when request IP address');
  return attachment;
}

async function listInterfaces(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  const ports = (await listDevicePorts(instance.id)).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  return json(200, { interfaceAttachments: ports.map((p) => attachmentView(p, tagsShown(req, instance))) });
}

async function showInterface(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  const portId = req.params.port_id;
  const port = z.string().uuid().safeParse(portId).success ? await getPort(portId) : undefined;
  if (!port) throw new NotFound(`Port id ${portId} could not be found.`);
  if (port.device_id !== instance.id) throw new NotFound(`Instance ${instance.id} does not have a port with id ${portId}`);
  return json(200, { interfaceAttachment: attachmentView(port, tagsShown(req, instance)) });
}

/** What to plug: the port or network asked for (unknown ones are 404 here, not 400 as at boot), or the one network available. */
async function nicToAttach(req: ApiRequest, instance: Instance, a: Attachment): Promise<NicRequest> {
  const notFound = (message: string) => new NotFound(message);
  if (a.port_id) {
    const [nic] = await resolveNics(req.auth, [{ port: a.port_id }], 1, notFound);
    if ('port' in nic && nic.port.project_id !== instance.project_id) throw new BadRequest(`Port ${nic.port.id} not usable for instance ${instance.id}.`);
    return nic;
  }
  if (a.net_id) return (await resolveNics(req.auth, [{ uuid: a.net_id, fixed_ip: a.fixed_ips?.[0]?.ip_address }], 1, notFound))[0];
  const available = await availableNetworks(instance.project_id);
  if (available.length === 0) throw new BadRequest(`No specific network was requested and none are available for project '${instance.project_id}'.`);
  if (available.length > 1) throw new BadRequest('More than one possible network found. Specify network ID(s) to select which one(s) to connect to.');
  return { network: available[0] };
}

/** Records the instance action with its compute event started; `finish` ends the event. */
async function startAction(req: ApiRequest, instance: Instance, action: InstanceActionName) {
  const started = newAction({ instanceId: instance.id, action, requestId: req.requestId, userId: req.auth.user_id, projectId: req.auth.project_id });
  await recordAction(started);
  const event = ACTION_EVENTS[action]!;
  return (failure: string | null) =>
    finishEvent(instance.id, req.requestId, {
      event,
      start_time: started.start_time,
      finish_time: new Date().toISOString(),
      result: failure === null ? 'Success' : 'Error',
      traceback: failure,
    }).catch((error: unknown) => logger.error('could not finish an instance action event', { instance_id: instance.id, error: error as Error }));
}

/** `POST /servers/{id}/os-interface`: 200 with the new attachment. */
async function attachInterface(req: ApiRequest): Promise<ApiResponse> {
  const attachment = parseAttachment(req);
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, InstanceActionName.ATTACH_INTERFACE, 'attachInterface');
  checkHasHost(instance);
  const nic = await nicToAttach(req, instance, attachment);
  const securityGroups = 'port' in nic ? [] : await resolveSecurityGroups(instance.project_id, undefined);
  const finish = await startAction(req, instance, InstanceActionName.ATTACH_INTERFACE);

  let allocated: { port: Port; made: boolean };
  let tagged: Instance = instance;
  try {
    allocated = await allocatePort(instance, nic, securityGroups);
  } catch (error) {
    const mapped = novaErrorOf(error, true);
    await finish(mapped instanceof Error ? mapped.message : String(mapped));
    throw mapped;
  }
  try {
    await bindDevicePorts(instance.id, instance.host, req.requestId);
    await refreshDeviceAddresses(instance.id);
    const guestNic = (await guestNicsOf(instance.id)).find((n) => n.port_id === allocated.port.id);
    if (!guestNic) throw new Error(`port ${allocated.port.id} has no network any more`);
    if (attachment.tag) tagged = await setDeviceTag(req, allocated.port.id, attachment.tag);
    const nic = { ...guestNic, ...(attachment.tag && { tag: attachment.tag }) };
    const sent = await sendHostCommand(instance.host, { type: 'attach_interface', request_id: req.requestId, instance_id: instance.id, nic });
    await finish(sent ? null : `host ${instance.host} is not registered`);
  } catch (error) {
    await releasePort(instance, (await getPort(allocated.port.id)) ?? allocated.port, allocated.made, req.requestId).catch(() => undefined);
    await finish(error instanceof Error ? error.message : String(error));
    throw error;
  }
  logger.info('interface attached', { instance_id: instance.id, port_id: allocated.port.id, host: instance.host });
  const port = (await getPort(allocated.port.id)) ?? allocated.port;
  return json(200, { interfaceAttachment: attachmentView(port, tagsShown(req, tagged)) });
}

/** Records (or, with null, forgets) the device tag of one of the server's ports. */
function setDeviceTag(req: ApiRequest, portId: string, tag: string | null): Promise<Instance> {
  return modifyInstance(req, (i) => {
    if ((i.device_tags[portId] ?? null) === tag) return null;
    const { [portId]: _old, ...others } = i.device_tags;
    return { device_tags: tag === null ? others : { ...others, [portId]: tag } };
  });
}

/** `DELETE /servers/{id}/os-interface/{port_id}`: 202; the host unplugs the NIC, the port goes (or is unbound, if the user made it). */
async function detachInterface(req: ApiRequest): Promise<ApiResponse> {
  const instance = await loadInstance(req);
  checkActionAllowed(req, instance, InstanceActionName.DETACH_INTERFACE, 'detachInterface');
  checkHasHost(instance);
  const portId = req.params.port_id;
  const port = z.string().uuid().safeParse(portId).success ? await getPort(portId) : undefined;
  if (!port || port.device_id !== instance.id) throw new NotFound(`Port ${portId} is not attached`);
  const finish = await startAction(req, instance, InstanceActionName.DETACH_INTERFACE);
  try {
    const sent = await sendHostCommand(instance.host, { type: 'detach_interface', request_id: req.requestId, instance_id: instance.id, port_id: port.id });
    await releasePort(instance, port, port.delete_with_device, req.requestId);
    if (instance.device_tags[port.id] !== undefined) await setDeviceTag(req, port.id, null);
    await finish(sent ? null : `host ${instance.host} is not registered`);
  } catch (error) {
    await finish(error instanceof Error ? error.message : String(error));
    throw error;
  }
  logger.info('interface detached', { instance_id: instance.id, port_id: port.id, host: instance.host });
  return { status: 202 };
}

/**
 * Nova's deallocate_port_for_instance: the port Nova made is deleted, the user's is unbound and
 * kept (its floating IPs let go, as releaseDevicePorts does); the server's addresses and the
 * plans of the hosts that had the port follow.
 */
async function releasePort(instance: Instance, port: Port, made: boolean, requestId: string): Promise<void> {
  const affected = await hostsAffectedByPorts([port]);
  await disassociatePortFloatingIps(port.id);
  if (made) await deletePort(port);
  else await updatePort(port, { device_id: '', device_owner: '', binding_host_id: '', status: 'DOWN' });
  await refreshDeviceAddresses(instance.id);
  await syncHostNetworks(affected, requestId).catch((error: unknown) =>
    logger.error('could not push network plans after detaching an interface', { instance_id: instance.id, error: error as Error }),
  );
}

export const attachInterfaceRoutes: Route[] = [
  { method: 'GET', path: BASE, service: 'compute', handler: listInterfaces },
  { method: 'POST', path: BASE, service: 'compute', handler: attachInterface },
  { method: 'GET', path: `${BASE}/{port_id}`, service: 'compute', handler: showInterface },
  { method: 'DELETE', path: `${BASE}/{port_id}`, service: 'compute', handler: detachInterface },
];
