// Several UDP flows with sequence numbers, for "nothing lost or duplicated". Run in a namespace:
//   node dist/test/helpers/udp-flows.js serve IP PORT FLOWS COUNT IDLE_MS
//       listens on PORT .. PORT+FLOWS-1; prints "listening", then, once every flow has COUNT
//       distinct datagrams or nothing came for IDLE_MS, one JSON line: per flow, the distinct
//       sequence numbers received and the duplicates.
//   node dist/test/helpers/udp-flows.js send IP PORT FLOWS COUNT
//       sends COUNT datagrams to each port (one socket, so one source port, per flow), a round
//       of one per flow at a time with a millisecond between rounds: a pace the lab's devices
//       take without overflowing their queues.

import { createSocket, type Socket } from 'node:dgram';

const [mode, ip = '', portText = '', flowsText = '', countText = '', idleText = '2000'] = process.argv.slice(2);
const base = Number(portText);
const flows = Number(flowsText);
const count = Number(countText);

export interface FlowCount {
  port: number;
  distinct: number;
  duplicates: number;
}

function serve(): void {
  const seen = Array.from({ length: flows }, () => new Set<number>());
  const duplicates = new Array<number>(flows).fill(0);
  const sockets: Socket[] = [];
  let idle: NodeJS.Timeout | null = null;
  const report = () => {
    const out: FlowCount[] = seen.map((s, i) => ({ port: base + i, distinct: s.size, duplicates: duplicates[i]! }));
    console.log(JSON.stringify(out));
    for (const s of sockets) s.close();
    if (idle !== null) clearTimeout(idle);
  };
  const rearm = () => {
    if (idle !== null) clearTimeout(idle);
    idle = setTimeout(report, Number(idleText));
  };
  let bound = 0;
  for (let i = 0; i < flows; i++) {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 21 });
    sockets.push(socket);
    socket.on('message', (msg) => {
      const n = msg.readUInt32BE(0);
      if (seen[i]!.has(n)) duplicates[i]!++;
      else seen[i]!.add(n);
      rearm();
      if (seen.every((s) => s.size >= count)) report();
    });
    socket.bind(base + i, ip, () => {
      if (++bound === flows) {
        console.log('listening');
        rearm();
      }
    });
  }
}

async function send(): Promise<void> {
  const sockets = Array.from({ length: flows }, () => createSocket('udp4'));
  const payload = Buffer.alloc(18); // a 64-byte frame: 14 + 20 + 8 + 18 + the 4-byte FCS the wire adds
  for (let n = 0; n < count; n++) {
    await Promise.all(
      sockets.map(
        (socket, i) =>
          new Promise<void>((resolve, reject) => {
            const datagram = Buffer.from(payload);
            datagram.writeUInt32BE(n, 0);
            socket.send(datagram, base + i, ip, (err) => (err ? reject(err) : resolve()));
          }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  for (const s of sockets) s.close();
  console.log(`sent ${count} to each of ${flows} flows`);
}

if (mode === 'serve') serve();
else if (mode === 'send')
  send().catch((err: Error) => {
    console.error(`udp-flows send: ${err.message}`);
    process.exit(1);
  });
else {
  console.error('usage: udp-flows serve IP PORT FLOWS COUNT IDLE_MS | udp-flows send IP PORT FLOWS COUNT');
  process.exit(2);
}
