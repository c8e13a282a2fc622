/**
 * A small, fast, seedable pseudo-random generator. The simulator draws several numbers per switch
 * per tick (600,000+ at 100,000 switches), so it must be cheap, and the same seed must give the same
 * sequence on every platform: that is what makes a run replayable. `Math.random` is neither.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator) works on 32-bit integers, which V8
 * keeps unboxed; it passes PractRand and has a guaranteed minimum period of 2^32 thanks to its
 * counter word. Its four words of state are filled from the seed with splitmix32, so nearby seeds
 * (1, 2, 3 …) still give unrelated streams.
 */

/** The largest seed accepted: seeds are JSON integers, so they must be exact in a double. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

const TWO_POW_32 = 4294967296;

/** A small seeded random number generator, so a seed replays a run exactly. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box-Muller yields normals in pairs; the second one waits here for the next call. */
  private spareNormal = 0;
  private hasSpareNormal = false;

  /** @param seed an integer from 0 to MAX_SEED; both its high and low 32-bit halves are used. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED} (got ${seed})`);
    let s = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32), 0x9e3779b9);
    const next = (): number => {
      // splitmix32
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    // The first outputs of a freshly seeded sfc32 are weakly mixed; the reference code discards 12.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniformly distributed number in [0, 1), with 32 bits of resolution (enough for a simulation). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A uniformly distributed integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A standard normal deviate (mean 0, standard deviation 1), by the Box-Muller transform. */
  normal(): number {
    if (this.hasSpareNormal) {
      this.hasSpareNormal = false;
      return this.spareNormal;
    }
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    const angle = 2 * Math.PI * this.next();
    this.spareNormal = radius * Math.sin(angle);
    this.hasSpareNormal = true;
    return radius * Math.cos(angle);
  }
}
