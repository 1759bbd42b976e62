import { ApiError } from '../../errors.js';

/**
 * Neutron's exceptions (neutron_lib.exceptions): the class name is the `type` of the
 * NeutronError body clients show, and each carries its HTTP status as Neutron maps it.
 */
class NeutronFault extends ApiError {
  constructor(status: number, fault: string, title: string, message: string) {
    super(status, fault, title, message);
  }
}

class NeutronNotFound extends NeutronFault {
  constructor(message: string) {
    super(404, 'itemNotFound', 'Not Found', message);
  }
}
class NeutronConflict extends NeutronFault {
  constructor(message: string) {
    super(409, 'conflictingRequest', 'Conflict', message);
  }
}
class NeutronBadRequest extends NeutronFault {
  constructor(message: string) {
    super(400, 'badRequest', 'Bad Request', message);
  }
}

export class NetworkNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Network ${id} could not be found.`);
  }
}
export class SubnetNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Subnet ${id} could not be found.`);
  }
}
export class PortNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Port ${id} could not be found.`);
  }
}
export class SecurityGroupNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Security group ${id} does not exist`);
  }
}
export class SecurityGroupRuleNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Security group rule ${id} does not exist`);
  }
}
export class RouterNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Router ${id} could not be found`);
  }
}
export class FloatingIPNotFound extends NeutronNotFound {
  constructor(id: string) {
    super(`Floating IP ${id} could not be found`);
  }
}
export class ExternalGatewayForFloatingIPNotFound extends NeutronNotFound {
  constructor(subnetId: string, externalNetworkId: string, portId: string) {
    super(
      `External network ${externalNetworkId} is not reachable from subnet ${subnetId}.  Therefore, cannot associate Port ${portId} with a Floating IP.`,
    );
  }
}

/** Neutron's validation failures: "Invalid input for operation: ...". */
export class InvalidInput extends NeutronBadRequest {
  constructor(reason: string) {
    super(`Invalid input for operation: ${reason}.`);
  }
}
export class InvalidAllocationPool extends NeutronBadRequest {
  constructor(pool: string) {
    super(`The allocation pool ${pool} spans beyond the subnet cidr.`);
  }
}
export class InvalidIpForSubnet extends NeutronBadRequest {
  constructor(address: string) {
    super(`IP address ${address} is not a valid IP for the specified subnet.`);
  }
}
export class BadRequestNotExternal extends NeutronBadRequest {
  constructor(networkId: string) {
    super(`Bad floatingip request: Network ${networkId} is not a valid external network.`);
  }
}

export class NetworkInUse extends NeutronConflict {
  constructor(id: string) {
    super(`Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
  }
}
export class SubnetInUse extends NeutronConflict {
  constructor(id: string) {
    super(`Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
  }
}
export class PortInUse extends NeutronConflict {
  constructor(portId: string, deviceId: string) {
    super(`Unable to complete operation on port ${portId}, port is already bound, device ${deviceId}.`);
  }
}
export class IpAddressAlreadyAllocated extends NeutronConflict {
  constructor(address: string, subnetId: string) {
    super(`IP address ${address} already allocated in subnet ${subnetId}`);
  }
}
export class IpAddressGenerationFailure extends NeutronConflict {
  constructor(networkId: string) {
    super(`No more IP addresses available on network ${networkId}.`);
  }
}
export class MacAddressInUse extends NeutronConflict {
  constructor(mac: string, networkId: string) {
    super(`Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);
  }
}
export class OverQuota extends NeutronConflict {
  constructor(resource: string) {
    super(`Quota exceeded for resources: ['${resource}'].`);
  }
}
export class InUse extends NeutronConflict {}
/** Someone else changed the resource between our read and our write (Neutron retries; we say so). */
export class ConcurrentModification extends NeutronConflict {
  constructor() {
    super('The resource changed while the request was being handled; try again.');
  }
}
export class NotAuthorized extends NeutronFault {
  constructor(message = 'The request you have made requires authentication.') {
    super(403, 'forbidden', 'Forbidden', message);
  }
}

/** Neutron's `BadRequest(resource=..., msg=...)`: "Bad <resource> request: <msg>." */
export class BadRouterRequest extends NeutronBadRequest {
  constructor(reason: string) {
    super(`Bad router request: ${reason}.`);
  }
}
export class BadFloatingIpRequest extends NeutronBadRequest {
  constructor(reason: string) {
    super(`Bad floatingip request: ${reason}.`);
  }
}
export class InvalidIpForNetwork extends NeutronBadRequest {
  constructor(address: string) {
    super(`IP address ${address} is not a valid IP for any of the subnets on the specified network.`);
  }
}
export class RouterInterfaceNotFound extends NeutronNotFound {
  constructor(routerId: string, portId: string) {
    super(`Router ${routerId} does not have an interface with id ${portId}`);
  }
}
export class RouterInterfaceNotFoundForSubnet extends NeutronNotFound {
  constructor(routerId: string, subnetId: string) {
    super(`Router ${routerId} has no interface on subnet ${subnetId}`);
  }
}
export class RouterInUse extends NeutronConflict {
  constructor(routerId: string, reason = 'still has ports') {
    super(`Router ${routerId} ${reason}`);
  }
}
export class RouterInterfaceInUseByFloatingIP extends NeutronConflict {
  constructor(routerId: string, subnetId: string) {
    super(`Router interface for subnet ${subnetId} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`);
  }
}
export class RouterExternalGatewayInUseByFloatingIp extends NeutronConflict {
  constructor(routerId: string, networkId: string) {
    super(`Gateway cannot be updated for router ${routerId}, since a gateway to external network ${networkId} is required by one or more floating IPs.`);
  }
}
export class FloatingIPPortAlreadyAssociated extends NeutronConflict {
  constructor(f: { floatingIpAddress: string; floatingIpId: string; portId: string; fixedIp: string; networkId: string }) {
    super(
      `Cannot associate floating IP ${f.floatingIpAddress} (${f.floatingIpId}) with port ${f.portId} using fixed IP ${f.fixedIp}, as that fixed IP already has a floating IP on external network ${f.networkId}.`,
    );
  }
}

// Security groups (neutron/extensions/securitygroup.py).
export class SecurityGroupInUse extends NeutronConflict {
  constructor(id: string) {
    super(`Security Group ${id} in use.`);
  }
}
export class SecurityGroupCannotRemoveDefault extends NeutronConflict {
  constructor() {
    super('Insufficient rights for removing default security group.');
  }
}
export class SecurityGroupCannotUpdateDefault extends NeutronConflict {
  constructor() {
    super('Updating default security group not allowed.');
  }
}
export class SecurityGroupDefaultAlreadyExists extends NeutronConflict {
  constructor() {
    super('Default security group already exists.');
  }
}
export class SecurityGroupRuleExists extends NeutronConflict {
  constructor(ruleId: string) {
    super(`Security group rule already exists. Rule id is ${ruleId}.`);
  }
}
/** A group name that several of the project's groups have (Nova's NoUniqueMatch words). */
export class SecurityGroupNameAmbiguous extends NeutronConflict {
  constructor(name: string) {
    super(`Multiple security groups found matching '${name}'. Use an ID to be more specific.`);
  }
}
export class SecurityGroupRuleInvalidProtocol extends NeutronBadRequest {
  constructor(protocol: string, values: readonly string[]) {
    super(
      `Security group rule protocol ${protocol} not supported. Only protocol values (None, ${values.map((v) => `'${v}'`).join(', ')}) and integer representations [0 to 255] are supported.`,
    );
  }
}
export class SecurityGroupRuleInvalidEtherType extends NeutronBadRequest {
  constructor(ethertype: string, values: readonly string[]) {
    super(`Security group rule for ethertype '${ethertype}' not supported. Allowed values are [${values.map((v) => `'${v}'`).join(', ')}].`);
  }
}
export class SecurityGroupInvalidPortRange extends NeutronBadRequest {
  constructor() {
    super('For TCP/UDP protocols, port_range_min must be <= port_range_max');
  }
}
export class SecurityGroupInvalidPortValue extends NeutronBadRequest {
  constructor(port: string) {
    super(`Invalid value for port ${port}`);
  }
}
export class SecurityGroupInvalidProtocolForPort extends NeutronBadRequest {
  constructor(protocol: string, validPortProtocols: string) {
    super(`Ports cannot be specified for protocol ${protocol}. Ports are only supported for ${validPortProtocols}.`);
  }
}
export class SecurityGroupInvalidIcmpValue extends NeutronBadRequest {
  constructor(field: string, attr: string, value: number) {
    super(`Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`);
  }
}
export class SecurityGroupMissingIcmpType extends NeutronBadRequest {
  constructor(value: number) {
    super(`ICMP code (port-range-max) ${value} is provided but ICMP type (port-range-min) is missing.`);
  }
}
export class SecurityGroupEthertypeConflictWithProtocol extends NeutronBadRequest {
  constructor(ethertype: string, protocol: string) {
    super(`Invalid ethertype ${ethertype} for protocol ${protocol}.`);
  }
}
export class SecurityGroupMultipleRemoteEntites extends NeutronBadRequest {
  constructor() {
    super('Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.');
  }
}
export class SecurityGroupProtocolRequiredWithPorts extends NeutronBadRequest {
  constructor() {
    super('Must also specify protocol if port range is given.');
  }
}
export class SecurityGroupRuleParameterConflict extends NeutronBadRequest {
  constructor(ethertype: string, cidr: string) {
    super(`Conflicting value ethertype ${ethertype} for CIDR ${cidr}`);
  }
}
export class InvalidCIDR extends NeutronBadRequest {
  constructor(input: string) {
    super(`Invalid CIDR ${input} given as IP prefix.`);
  }
}

/** Ports of routers, floating IPs and DHCP go with what owns them, never through the port API. */
export class L3PortInUse extends NeutronConflict {
  constructor(portId: string, deviceOwner: string) {
    super(`Port ${portId} cannot be deleted directly via the port API: has device owner ${deviceOwner}.`);
  }
}
