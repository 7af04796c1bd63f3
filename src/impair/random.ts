// A small seeded random number generator, so that an impaired run repeats exactly: the same
// seed and the same frames give the same losses, copies and delays. sfc32 (Chris Doty-Humphrey's
// "small fast counting" generator): four 32-bit words of state, passes PractRand, and costs a
// few integer operations per draw, with no allocation. The seed is spread over the state by
// splitmix32, and the first draws are thrown away, as the author recommends.

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A whole number in [0, 2^32). */
  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A number in [0, 1). */
  fraction(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** A whole number in [0, n), n at most 2^32. */
  below(n: number): number {
    return Math.floor(this.fraction() * n);
  }
}
