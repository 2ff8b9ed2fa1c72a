import type { Codec, EncodedBlock } from "@kvpack/codecs";

/**
 * Decodes a segment's blocks into scratch rows that grow on demand and are reused, so reading,
 * truncating and digesting pages allocate nothing per row. Keys and values have separate scratch
 * because callers hold both at once. The returned views are valid until the next call.
 */
export class RowDecoder {
  private keyRows = new Float32Array(0);
  private valueRows = new Float32Array(0);

  constructor(private readonly headDim: number) {}

  keys(codec: Codec, block: EncodedBlock, count: number): Float32Array {
    const need = count * this.headDim;
    if (this.keyRows.length < need) this.keyRows = new Float32Array(need);
    return codec.decode(block, this.keyRows.subarray(0, need));
  }

  values(codec: Codec, block: EncodedBlock, count: number): Float32Array {
    const need = count * this.headDim;
    if (this.valueRows.length < need) this.valueRows = new Float32Array(need);
    return codec.decode(block, this.valueRows.subarray(0, need));
  }
}
