// A TCP stream with a checksum, for "the transfer arrived intact". Run inside a namespace:
//   node dist/test/helpers/stream.js serve PORT          prints "<bytes> <sha256>" when the peer closes
//   node dist/test/helpers/stream.js send HOST PORT BYTES prints "<bytes> <sha256>" of what it sent
// The sender streams pseudo-random bytes (xorshift, so the data is not compressible or constant).

import { createHash } from 'node:crypto';
import { createConnection, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'serve') {
  const server = createServer((socket) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    socket.on('end', () => {
      console.log(`${bytes} ${hash.digest('hex')}`);
      server.close();
    });
  });
  server.listen(Number(args[0]), () => console.log('listening'));
} else if (mode === 'send') {
  const [host, port, total] = [args[0]!, Number(args[1]), Number(args[2])];
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(256 * 1024);
  let state = 0x9e3779b9;
  let sent = 0;
  const socket = createConnection({ host, port }, () => pump());
  function fill(): number {
    const n = Math.min(chunk.length, total - sent);
    for (let i = 0; i < n; i += 4) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      chunk.writeInt32LE(state | 0, i);
    }
    return n;
  }
  function pump(): void {
    while (sent < total) {
      const n = fill();
      const piece = Buffer.from(chunk.subarray(0, n));
      hash.update(piece);
      sent += n;
      if (!socket.write(piece)) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end(() => console.log(`${sent} ${hash.digest('hex')}`));
  }
  socket.on('error', (err) => {
    console.error(`send: ${err.message}`);
    process.exit(1);
  });
} else {
  console.error('usage: stream serve PORT | stream send HOST PORT BYTES');
  process.exit(2);
}
