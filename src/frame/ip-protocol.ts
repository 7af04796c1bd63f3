// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"): the IPv4 protocol field and
// the IPv6 next-header field share one space, extension headers included.

export const IpProtocol = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
} as const;
