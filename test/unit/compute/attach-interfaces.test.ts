import { describe, expect, it } from 'vitest';
import { attachmentView, parseAttachment } from '../../../functions/api/compute/attach-interfaces.js';
import type { Port } from '../../../shared/domain/network/port.js';

const req = (body: unknown, headers: Record<string, string> = {}) => ({ body: Buffer.from(body === undefined ? '' : JSON.stringify(body)), headers });
const NET = '3cb9bc59-5699-4588-a4b1-b87f96708bc6';
const PORT = 'ce531f90-199f-48c0-816c-13e38010b442';

describe('os-interface request bodies (Nova attach_interfaces schema, 2.1)', () => {
  it('takes a network (with one fixed IP) or a port; no body or an empty attachment means the one available network', () => {
    expect(parseAttachment(req({ interfaceAttachment: { net_id: NET, fixed_ips: [{ ip_address: '192.168.1.3' }] } }))).toEqual({ net_id: NET, fixed_ips: [{ ip_address: '192.168.1.3' }] });
    expect(parseAttachment(req({ interfaceAttachment: { port_id: PORT } }))).toEqual({ port_id: PORT });
    expect(parseAttachment(req(undefined))).toEqual({});
    expect(parseAttachment(req({}))).toEqual({});
    expect(parseAttachment(req({ interfaceAttachment: {} }))).toEqual({});
  });

  it('refuses what Nova refuses, with its words', () => {
    expect(() => parseAttachment(req({ interfaceAttachment: { net_id: NET, port_id: PORT } }))).toThrow('Must not input both network_id and port_id');
    expect(() => parseAttachment(req({ interfaceAttachment: { fixed_ips: [{ ip_address: '10.0.0.3' }] } }))).toThrow('Must input network_id when request IP address');
    expect(() => parseAttachment(req({ interfaceAttachment: { net_id: 'nope' } }))).toThrow(/Invalid input/);
    expect(() => parseAttachment(req({ interfaceAttachment: { net_id: NET, tag: 'x' } }))).toThrow(/Invalid input/);
    expect(() => parseAttachment(req({ interfaceAttachment: { net_id: NET, fixed_ips: [{ ip_address: 'a' }, { ip_address: 'b' }] } }))).toThrow(/Invalid input/);
    expect(() => parseAttachment({ body: Buffer.from('{'), headers: {} })).toThrow('Malformed request body');
    expect(() => parseAttachment(req({}, { 'content-type': 'text/plain' }))).toThrow(/Content-Type/);
  });
});

describe('interface attachment view', () => {
  it('is Nova’s _translate_interface_attachment_view of the port', () => {
    const port = {
      id: PORT,
      network_id: NET,
      mac_address: 'fa:16:3e:4c:2c:30',
      status: 'ACTIVE',
      fixed_ips: [{ subnet_id: 'f8a6e8f8-c2ec-497c-9f23-da9616de54ef', ip_address: '192.168.1.3' }],
    } as Port;
    // attach-interfaces-show-resp.json
    expect(attachmentView(port)).toEqual({
      fixed_ips: [{ ip_address: '192.168.1.3', subnet_id: 'f8a6e8f8-c2ec-497c-9f23-da9616de54ef' }],
      mac_addr: 'fa:16:3e:4c:2c:30',
      net_id: NET,
      port_id: PORT,
      port_state: 'ACTIVE',
    });
  });
});
