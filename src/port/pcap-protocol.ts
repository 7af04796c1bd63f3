// The pipe protocol between a PcapPort and its capture process (pcap-worker.ts), little-endian:
//   [u32 length][length bytes]   a frame (captured, on the worker's stdout; to inject, on its stdin)
//   [u32 TRUNCATED]              a captured frame longer than SNAPLEN: counted, never passed on
//   [u32 READY]                  once, on stdout: the capture is open

export const PcapMessage = { READY: 0xffff_fffe, TRUNCATED: 0xffff_ffff } as const;

/** libpcap's snapshot length as the cap binding sets it. */
export const SNAPLEN = 65535;
