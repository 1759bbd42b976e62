/**
 * The one network of a novaless cloud: every server with a NIC gets an address on it.
 * Its ids are fixed so every function (and every cloud) names it the same way.
 */
export const SHARED_NETWORK_ID = 'b6a9a0a2-6c1e-4f36-9a57-5e8c2f6f0c01';
export const SHARED_NETWORK_NAME = 'shared';
export const SHARED_SUBNET_ID = 'c3d2f1e0-7b4a-4c59-8e6d-1a2b3c4d5e02';
export const SHARED_SUBNET_CIDR = '10.0.0.0/16';
export const SHARED_SUBNET_GATEWAY = '10.0.0.1';
export const SHARED_NETWORK_MTU = 1500;
/** Neutron's shared networks belong to the admin project; novaless's belongs to no project, so a fixed id stands in. */
export const SHARED_NETWORK_PROJECT_ID = '00000000000000000000000000000000';
/** When the network came to be, as far as its API view says. */
export const SHARED_NETWORK_CREATED_AT = '2024-01-01T00:00:00Z';
