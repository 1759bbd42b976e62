/**
 * Where a guest's NICs sit on its PCI bus: the n-th at slot 0x10 + n, given to QEMU explicitly,
 * so that the metadata can tell the guest which tagged NIC is which (Nova's device metadata).
 * The slots end at 0x1f: a 17th NIC and beyond get whatever slot QEMU picks, and no address.
 */
const FIRST_SLOT = 0x10;
const LAST_SLOT = 0x1f;

export function nicPciSlot(index: number): number | undefined {
  const slot = FIRST_SLOT + index;
  return slot <= LAST_SLOT ? slot : undefined;
}

/** The slot as the guest's PCI address (`0000:00:10.0`), as Nova's metadata writes it. */
export function nicPciAddress(index: number): string | undefined {
  const slot = nicPciSlot(index);
  return slot === undefined ? undefined : `0000:00:${slot.toString(16).padStart(2, '0')}.0`;
}
