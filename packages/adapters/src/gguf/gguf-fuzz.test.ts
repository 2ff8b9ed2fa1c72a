import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { readModelsData } from "../model/test-models-data.js";
import { GgufFile } from "./gguf-file.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { writeLlamaGguf } from "./write-llama-gguf.js";

/**
 * A mutated GGUF file either loads or fails with a ModelFormatError naming what is wrong: never
 * another exception (a TypeError from reading past a view, a RangeError from allocating a claimed
 * huge length before checking it), never a hang. 1,000 mutations of a real file (stories260K
 * written as Q8_0): byte flips in the header, huge or random 32/64-bit counts and lengths written
 * over header fields, truncations, and byte flips anywhere.
 */
const llama2c = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const tok512 = loadLlama2cTokenizer(readModelsData("tok512.bin"), llama2c.config.vocabSize);
const original = writeLlamaGguf(llama2c, tok512, { name: "stories260K", tensorType: "Q8_0" });
const parsed = new GgufFile(original);
// Metadata and tensor infos come before the tensor data (which ends the file).
let tensorBytes = 0;
for (const info of parsed.tensors.values()) tensorBytes += info.byteLength;
const headerBytes = original.byteLength - tensorBytes;

type Mutation =
  | { readonly kind: "flip"; readonly offset: number; readonly mask: number }
  | { readonly kind: "overwrite"; readonly offset: number; readonly width: 4 | 8; readonly value: bigint }
  | { readonly kind: "truncate"; readonly length: number };

const headerOffset = fc.integer({ min: 0, max: headerBytes - 1 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), offset: headerOffset, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("flip" as const), offset: fc.integer({ min: 0, max: original.byteLength - 1 }), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant("overwrite" as const),
    offset: headerOffset,
    width: fc.constantFrom(4 as const, 8 as const),
    value: fc.oneof(fc.constantFrom(0n, 1n, 0xffffffffn, 0x7fffffffn, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
  }),
  fc.record({ kind: fc.constant("truncate" as const), length: fc.integer({ min: 0, max: original.byteLength - 1 }) }),
);

function mutate(m: Mutation): Uint8Array {
  if (m.kind === "truncate") return original.slice(0, m.length);
  const bytes = original.slice();
  if (m.kind === "flip") {
    bytes[m.offset] ^= m.mask;
    return bytes;
  }
  const view = new DataView(bytes.buffer);
  const room = bytes.byteLength - m.offset;
  if (m.width === 8 && room >= 8) view.setBigUint64(m.offset, m.value, true);
  else if (room >= 4) view.setUint32(m.offset, Number(m.value & 0xffffffffn), true);
  return bytes;
}

describe("GGUF fuzz: 1,000 mutations of a real file", () => {
  it("every mutation loads or throws a ModelFormatError, nothing else", () => {
    let rejected = 0;
    fc.assert(
      fc.property(mutation, (m) => {
        try {
          loadGgufLlama(mutate(m));
        } catch (error) {
          if (!ModelFormatError.isInstance(error)) throw error;
          expect(error.message.length).toBeGreaterThan(10);
          rejected += 1;
        }
      }),
      { numRuns: 1000, seed: 20261206 },
    );
    // Most header mutations must be caught (a flip inside tensor data is a valid file with other weights).
    expect(rejected).toBeGreaterThan(300);
  }, 120_000);
});
