// Why bytes are not a valid frame. Constants, not formatted messages: the forwarding path
// counts them by name and allocates nothing.

export const FrameError = {
  /** Shorter than an Ethernet header. */
  RUNT: 'runt',
  /** A VLAN TPID with fewer than four bytes behind it. */
  TRUNCATED_TAG: 'truncated-vlan-tag',
  /** More stacked VLAN tags than any switch would forward. */
  TOO_MANY_TAGS: 'too-many-vlan-tags',
  /** A header is cut off before its fixed part ends. */
  TRUNCATED: 'truncated-header',
  /** A length field disagrees with the bytes that are there. */
  BAD_LENGTH: 'bad-length',
  /** A version or header-length field that cannot be right. */
  BAD_HEADER: 'bad-header',
  /** An option or extension-header TLV that runs past the header holding it. */
  BAD_OPTIONS: 'bad-options',
  /** Well-formed as far as we can tell, but of a kind the view does not read (ARP for another hardware type). */
  UNRECOGNIZED: 'unrecognized',
  /** A virtio_net_hdr the kernel would refuse with EINVAL. */
  BAD_VNET_HDR: 'bad-vnet-hdr',
} as const;

export type FrameError = (typeof FrameError)[keyof typeof FrameError];
