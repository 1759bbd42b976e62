/** IPv4 arithmetic for subnets and address allocation (addresses as unsigned 32-bit numbers). */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

export function toInt(address: string): number {
  if (!isIpv4(address)) throw new Error(`'${address}' is not a valid IPv4 address`);
  return address.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export const toAddress = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

export interface Cidr {
  /** The network address, as a number. */
  base: number;
  prefix: number;
  /** Number of addresses, network and broadcast included. */
  size: number;
}

/** Parses `a.b.c.d/n`; throws when the text is not a CIDR or has host bits set (as Neutron refuses). */
export function parseCidr(text: string): Cidr {
  const [address, bits, ...rest] = text.split('/');
  if (rest.length || bits === undefined || !/^\d{1,2}$/.test(bits) || Number(bits) > 32 || !isIpv4(address)) {
    throw new Error(`'${text}' is not a valid IP subnet`);
  }
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  const n = toInt(address);
  const base = n - (n % size);
  if (base !== n) throw new Error(`'${text}' isn't a recognized IP subnet cidr, '${toAddress(base)}/${prefix}' is recommended`);
  return { base, prefix, size };
}

export const cidrText = (c: Cidr) => `${toAddress(c.base)}/${c.prefix}`;
export const contains = (c: Cidr, address: number) => address >= c.base && address < c.base + c.size;
export const overlaps = (a: Cidr, b: Cidr) => a.base < b.base + b.size && b.base < a.base + a.size;
export const netmaskOf = (c: Cidr) => toAddress(c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0);

/** Hosts usable in a subnet: all but the network and broadcast addresses (a /31 or /32 keeps them all). */
export function usableRange(c: Cidr): { first: number; last: number } {
  if (c.prefix >= 31) return { first: c.base, last: c.base + c.size - 1 };
  return { first: c.base + 1, last: c.base + c.size - 2 };
}

/** A range of addresses, inclusive at both ends. */
export interface AddressRange {
  start: string;
  end: string;
}

/** Neutron's default allocation pools: the usable range minus the gateway, split around it. */
export function defaultPools(c: Cidr, gateway: number | null): AddressRange[] {
  const { first, last } = usableRange(c);
  const ranges: [number, number][] = gateway === null || !contains(c, gateway) ? [[first, last]] : [[first, gateway - 1], [gateway + 1, last]];
  return ranges.filter(([a, b]) => a <= b).map(([a, b]) => ({ start: toAddress(a), end: toAddress(b) }));
}

/** Every address of the pools in order, lazily (a /8 has 16 million). */
export function* poolAddresses(pools: AddressRange[]): Generator<number> {
  for (const pool of pools) {
    for (let n = toInt(pool.start); n <= toInt(pool.end); n++) yield n;
  }
}
