// The libpcap side of a PcapPort, in its own process.
//
// Why a process: the `cap` binding asserts (and so aborts the whole process) as soon as its
// capture socket reports an error, which the kernel raises when the interface goes down or is
// deleted (mscdex/cap#82). Here that ends this process only; the forwarder sees the exit and
// says what happened in one sentence.
//
// Frames travel over stdout (captured) and stdin (to inject) as pcap-protocol.ts describes.
// stdout is written with blocking writes: when the forwarder stops reading, this process stops
// capturing and frames wait in (and, when it is full, are dropped by) the kernel's capture buffer.

import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PcapMessage, SNAPLEN } from './pcap-protocol.js';

// A root process: SIGUSR1 must not open Node's debugger here either (see src/cli/process-guard.ts).
process.on('SIGUSR1', () => {});

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  send(buffer: Buffer, size: number): void;
}

function main(ifname: string, filter: string): void {
  const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapHandle };
  const cap = new Cap();
  const capture = Buffer.alloc(SNAPLEN);
  const out = Buffer.alloc(4 + SNAPLEN);
  try {
    const link = cap.open(ifname, filter, 8 * 1024 * 1024, capture);
    if (link !== 'ETHERNET') throw new Error(`it is not an Ethernet device (link type ${link})`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(3);
  }
  const word = (value: number) => {
    out.writeUInt32LE(value, 0);
    writeAll(out, 4);
  };
  word(PcapMessage.READY);
  cap.on('packet', (nbytes, truncated) => {
    if (truncated) return word(PcapMessage.TRUNCATED);
    out.writeUInt32LE(nbytes, 0);
    capture.copy(out, 4, 0, nbytes);
    writeAll(out, 4 + nbytes);
  });

  let pending: Buffer = Buffer.alloc(0);
  process.stdin.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 4) {
      const len = pending.readUInt32LE(at);
      if (pending.length - at - 4 < len) break;
      try {
        cap.send(pending.subarray(at + 4, at + 4 + len), len);
      } catch (err) {
        process.stderr.write(`injecting a frame failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(4);
      }
      at += 4 + len;
    }
    pending = pending.subarray(at);
  });
  process.stdin.on('end', () => process.exit(0));
}

function writeAll(buf: Buffer, length: number): void {
  let done = 0;
  while (done < length) {
    try {
      done += writeSync(1, buf, done, length - done);
    } catch (err) {
      // stdout is a non-blocking pipe: wait for the forwarder to read (this is the back-pressure).
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') process.exit(0);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

const [ifname, filter = ''] = process.argv.slice(2);
if (ifname === undefined) {
  process.stderr.write('usage: pcap-worker IFNAME [FILTER]\n');
  process.exit(2);
}
main(ifname, filter);
