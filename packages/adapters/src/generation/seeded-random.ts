/**
 * llama2.c run.c's xorshift* generator (64-bit state, 32-bit outputs), in two uint32 halves so a
 * draw allocates nothing. The same seed gives the same stream as run.c's random_u32/random_f32.
 */
export class SeededRandom {
  private high: number;
  private low: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`SeededRandom: seed must be a non-negative safe integer, got ${seed}`);
    this.high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    this.low = seed >>> 0;
    // xorshift has a fixed point at 0; run.c never seeds 0 (it uses the time), so map 0 to a constant.
    if (this.high === 0 && this.low === 0) this.low = 0x9e3779b9;
  }

  /** run.c random_u32: state ^= state >> 12; ^= << 25; ^= >> 27; return (state · 0x2545F4914F6CDD1D) >> 32. */
  nextUint32(): number {
    let high = this.high;
    let low = this.low;
    low = (low ^ ((low >>> 12) | (high << 20))) >>> 0;
    high = (high ^ (high >>> 12)) >>> 0;
    high = (high ^ ((high << 25) | (low >>> 7))) >>> 0;
    low = (low ^ (low << 25)) >>> 0;
    low = (low ^ ((low >>> 27) | (high << 5))) >>> 0;
    high = (high ^ (high >>> 27)) >>> 0;
    this.high = high;
    this.low = low;
    return multiplyHigh32(high, low);
  }

  /** run.c random_f32: a float in [0, 1) with 24 random bits. */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }
}

// Bits 32..63 of (high·2³² + low) · 0x2545F4914F6CDD1D mod 2⁶⁴, with 16-bit limbs so every partial product is exact in a double.
function multiplyHigh32(high: number, low: number): number {
  const a0 = low & 0xffff;
  const a1 = low >>> 16;
  const a2 = high & 0xffff;
  const a3 = high >>> 16;
  const b0 = 0xdd1d;
  const b1 = 0x4f6c;
  const b2 = 0xf491;
  const b3 = 0x2545;
  const limb0 = a0 * b0;
  const limb1 = a0 * b1 + a1 * b0 + Math.floor(limb0 / 65536);
  const limb2 = a0 * b2 + a1 * b1 + a2 * b0 + Math.floor(limb1 / 65536);
  const limb3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + Math.floor(limb2 / 65536);
  return ((limb2 % 65536) + (limb3 % 65536) * 65536) >>> 0;
}
