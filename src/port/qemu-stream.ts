// QEMU's `-netdev stream` (and `-netdev socket` in stream mode) framing: every frame on the byte
// stream is preceded by its length as a 4-byte big-endian integer, and nothing else: no vnet
// header (qemu net/stream.c net_stream_receive; the reader is net_fill_rstate in net/net.c, which
// refuses a length larger than its NET_BUFSIZE buffer).

/** QEMU's receive buffer (include/net/net.h): 4096 + 65536. A longer frame is a broken stream. */
export const NET_BUFSIZE = 4096 + 65536;

export const LENGTH_BYTES = 4;

/**
 * Splits a byte stream into frames, keeping a partial frame across chunks. It copies each frame
 * once, into the caller's ring, through `emit`; a frame split over chunks is assembled first.
 */
export class StreamDeframer {
  private readonly partial = new Uint8Array(NET_BUFSIZE);
  private partialLength = 0;
  private readonly header = new Uint8Array(LENGTH_BYTES);
  private headerHave = 0;
  /** Length of the frame being assembled; -1 while the length itself is still being read. */
  private want = -1;

  /**
   * Feed a chunk from `from`. `emit(bytes, start, end)` receives each whole frame and returns false to
   * stop (the reader paused): push then returns where it stopped. It returns chunk.length when all was
   * taken, and a sentence when the stream carries an impossible length (the connection must end).
   */
  push(
    chunk: Uint8Array,
    from: number,
    emit: (bytes: Uint8Array, start: number, end: number) => boolean,
  ): number | string {
    let at = from;
    while (at < chunk.length) {
      if (this.want < 0) {
        const take = Math.min(LENGTH_BYTES - this.headerHave, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerHave);
        this.headerHave += take;
        at += take;
        if (this.headerHave < LENGTH_BYTES) break;
        const h = this.header;
        const length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
        this.headerHave = 0;
        if (length > NET_BUFSIZE) return `the peer sent a frame length of ${length} bytes (at most ${NET_BUFSIZE})`;
        this.want = length;
        this.partialLength = 0;
      }
      const left = chunk.length - at;
      if (this.partialLength === 0 && left >= this.want) {
        // The whole frame is in this chunk: hand it over from where it lies.
        const more = emit(chunk, at, at + this.want);
        at += this.want;
        this.want = -1;
        if (!more) return at;
        continue;
      }
      const take = Math.min(this.want - this.partialLength, left);
      this.partial.set(chunk.subarray(at, at + take), this.partialLength);
      this.partialLength += take;
      at += take;
      if (this.partialLength === this.want) {
        const length = this.want;
        this.want = -1;
        this.partialLength = 0;
        if (!emit(this.partial, 0, length)) return at;
      }
    }
    return at;
  }

  /** Bytes of a frame (or length) still incomplete: lost if the connection ends now. */
  get pendingBytes(): number {
    return this.headerHave + this.partialLength;
  }

  reset(): void {
    this.headerHave = 0;
    this.partialLength = 0;
    this.want = -1;
  }
}

/** The 4-byte length QEMU expects before a frame of `length` bytes. */
export function writeLength(out: Uint8Array, at: number, length: number): void {
  out[at] = length >>> 24;
  out[at + 1] = (length >>> 16) & 0xff;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
}
