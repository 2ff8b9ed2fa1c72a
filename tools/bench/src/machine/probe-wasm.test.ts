import { describe, expect, it } from "vitest";
import { instantiateProbe, probeChains } from "./probe-wasm.js";

describe("probe WASM module", () => {
  const instance = instantiateProbe(2);
  const words = new Int32Array(instance.memory.buffer);

  it("read ORs lane 0 of every 16-byte word it streams over, and nothing past the length", () => {
    words.fill(0);
    words[4 * 5] = 0x10; // lane 0 of word 5
    words[4 * 31 + 0] = 0x200; // lane 0 of word 31, the last of 512 bytes
    words[4 * 7 + 1] = 0x4000; // lane 1: not in lane 0
    words[4 * 32] = 0x8000; // past 512 bytes
    expect(instance.read(0, 512)).toBe(0x210);
  });

  it("copy moves exactly the given bytes", () => {
    const bytes = new Uint8Array(instance.memory.buffer);
    for (let index = 0; index < 256; index++) bytes[index] = (index * 7) & 0xff;
    bytes.fill(0, 4096, 4096 + 320);
    instance.copy(4096, 0, 256);
    expect(Array.from(bytes.subarray(4096, 4096 + 256))).toEqual(Array.from(bytes.subarray(0, 256)));
    expect(bytes[4096 + 256]).toBe(0);
  });

  it("multiplyAdd runs acc·m + c on every chain: lane 0 of the sum matches a float32 recurrence", () => {
    // Chain k starts at k; after n steps of acc = fround(fround(acc·0.999999) + 1e-7) the result is their sum.
    const n = 1000;
    const m = Math.fround(0.999999);
    const c = Math.fround(1e-7);
    let sum = 0;
    for (let chain = 0; chain < probeChains; chain++) {
      let accumulator = chain;
      for (let step = 0; step < n; step++) accumulator = Math.fround(Math.fround(accumulator * m) + c);
      sum = chain === 0 ? accumulator : Math.fround(sum + accumulator);
    }
    expect(instance.multiplyAdd(n)).toBe(sum);
  });
});
