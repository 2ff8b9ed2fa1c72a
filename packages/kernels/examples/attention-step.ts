import { packCodes, resolveBackend } from "@kvpack/kernels";

// A 16-codeword k = 2 codebook (4-bit codes, 2 bits per coordinate): here a simple ring.
const codewords = new Float32Array(32);
for (let n = 0; n < 16; n++) {
  const radius = 0.1 + 0.02 * (n % 4);
  codewords[2 * n] = radius * Math.cos(n * 2.4);
  codewords[2 * n + 1] = radius * Math.sin(n * 2.4);
}
const codebook = { codewords, blockSize: 2 };

const backend = await resolveBackend(["wasm", "ts"]); // first that initialises
const dimension = 64, tokens = 1024, heads = 4, kvHeads = 2;
const vectors = Float32Array.from({ length: kvHeads * tokens * dimension }, () => Math.random() - 0.5);

// Encode (rotated-domain vectors → codes + norms), pack two 4-bit codes per byte, keep resident.
const { codes, norms } = await backend.kernels.encode({ vectors, count: kvHeads * tokens, dimension, codebook });
const packed = packCodes(codes as Uint8Array, kvHeads * tokens, dimension / 2, 4);
const keys = { codes: backend.upload(packed), bitWidth: 4 as const, norms: backend.upload(norms), codebook };

// One decoding step: 4 query heads over 2 KV heads (GQA), values share the keys' pages here.
const queries = Float32Array.from({ length: heads * dimension }, () => Math.random() - 0.5);
const output = await backend.kernels.attention({ queries, keys, values: keys, tokenCount: tokens, headCount: heads, kvHeadCount: kvHeads, dimension });
console.log(backend.name, output.length, output.slice(0, 4));

// The same step on the dense decode, for comparison.
const dense = await backend.kernels.decode({ rows: { codes: packed, bitWidth: 4, norms, codebook }, count: kvHeads * tokens, dimension });
const reference = await backend.kernels.denseAttention({ queries, keys: dense, values: dense, tokenCount: tokens, headCount: heads, kvHeadCount: kvHeads, dimension });
console.log("max |compressed − dense|:", Math.max(...output.map((value, index) => Math.abs(value - reference[index]))));
