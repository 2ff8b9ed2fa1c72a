import { codeLayout, type CodeLayout } from "@kvpack/bitpack";
import { quantizeAsymmetric, readScale, readZero, writeAsymmetricParams } from "./asymmetric-params.js";
import { BaseCodec, blockHeaderBytes, type QueryState } from "./base-codec.js";
import { CodecError } from "./codec-error.js";
import { checkDimension } from "./spec-checks.js";

export interface KiviCodecSpec {
  kind: "kivi";
  dimension: number;
  bits: 2 | 4;
  role: "key" | "value";
  groupSize?: number;
}

/**
 * KIVI (Liu et al. 2024): asymmetric uniform 2/4-bit quantization without rotation.
 * Keys: per channel, statistics over groups of `groupSize` tokens (tokenGroup = groupSize; a final
 * partial token group gets its own scales). Values: per token, over groups of `groupSize` channels.
 * Scale and zero are fp16. The full-precision residual window is a cache policy, not part of the codec.
 * Block: header | codes (count·d, row-major, b bits each) | fp16 (scale, zero) per group.
 */
export class KiviCodec extends BaseCodec {
  readonly kind = "kivi" as const;
  readonly bits: 2 | 4;
  readonly role: "key" | "value";
  readonly groupSize: number;
  private readonly levels: number;
  private readonly layout: CodeLayout;
  private readonly channelGroups: number;
  private readonly codes: Uint32Array;
  private readonly row: Float32Array;
  private readonly weightedScales: Float64Array;

  constructor(spec: KiviCodecSpec) {
    checkDimension("kivi", spec.dimension);
    if (spec.bits !== 2 && spec.bits !== 4) throw new CodecError("unsupported-rate", `kivi: bits must be 2 or 4, got ${spec.bits}`);
    if (spec.role !== "key" && spec.role !== "value") throw new CodecError("invalid-spec", `kivi: role must be "key" or "value", got ${String(spec.role)}`);
    const groupSize = spec.groupSize ?? 32;
    if (!Number.isInteger(groupSize) || groupSize < 1 || groupSize > 4096) {
      throw new CodecError("invalid-spec", `kivi: groupSize must be an integer in [1, 4096], got ${groupSize}`);
    }
    super({ ...spec, groupSize }, `kivi:d${spec.dimension}:b${spec.bits}:${spec.role}:g${groupSize}`, spec.role === "key" ? groupSize : 1);
    this.bits = spec.bits;
    this.role = spec.role;
    this.groupSize = groupSize;
    this.levels = 2 ** spec.bits;
    this.layout = codeLayout(this.levels);
    this.channelGroups = Math.ceil(spec.dimension / groupSize);
    this.codes = new Uint32Array(spec.dimension);
    this.row = new Float32Array(spec.dimension);
    this.weightedScales = new Float64Array(spec.dimension);
  }

  private paramsOffset(count: number): number {
    return blockHeaderBytes + this.layout.byteLength(count * this.dimension);
  }

  private parameterSets(count: number): number {
    return this.role === "key" ? Math.ceil(count / this.groupSize) * this.dimension : count * this.channelGroups;
  }

  protected payloadByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension) + 4 * this.parameterSets(count);
  }

  protected override codeByteLength(count: number): number {
    return this.layout.byteLength(count * this.dimension);
  }

  protected encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void {
    const dimension = this.dimension;
    const levels = this.levels;
    const groupSize = this.groupSize;
    const codes = this.codeBuffer(count * dimension);
    const params = this.paramsOffset(count);
    if (this.role === "key") {
      for (let first = 0, group = 0; first < count; first += groupSize, group++) {
        const last = Math.min(count, first + groupSize);
        for (let channel = 0; channel < dimension; channel++) {
          let minimum = Infinity;
          let maximum = -Infinity;
          for (let row = first; row < last; row++) {
            const value = vectors[row * dimension + channel];
            if (value < minimum) minimum = value;
            if (value > maximum) maximum = value;
          }
          const offset = params + 4 * (group * dimension + channel);
          writeAsymmetricParams(data, offset, minimum, maximum, levels, `kivi key channel ${channel}`);
          const scale = readScale(data, offset);
          const zero = readZero(data, offset);
          for (let row = first; row < last; row++) {
            codes[row * dimension + channel] = quantizeAsymmetric(vectors[row * dimension + channel], scale, zero, levels);
          }
        }
      }
    } else {
      for (let row = 0; row < count; row++) {
        for (let group = 0; group < this.channelGroups; group++) {
          const first = row * dimension + group * groupSize;
          const last = row * dimension + Math.min(dimension, (group + 1) * groupSize);
          let minimum = Infinity;
          let maximum = -Infinity;
          for (let index = first; index < last; index++) {
            const value = vectors[index];
            if (value < minimum) minimum = value;
            if (value > maximum) maximum = value;
          }
          const offset = params + 4 * (row * this.channelGroups + group);
          writeAsymmetricParams(data, offset, minimum, maximum, levels, `kivi value row ${row}`);
          const scale = readScale(data, offset);
          const zero = readZero(data, offset);
          for (let index = first; index < last; index++) codes[index] = quantizeAsymmetric(vectors[index], scale, zero, levels);
        }
      }
    }
    this.layout.pack(codes, count * dimension, data, blockHeaderBytes);
  }

  protected decodeRowInto(data: Uint8Array, count: number, row: number, out: Float32Array, outOffset: number): void {
    const dimension = this.dimension;
    const codes = this.codes;
    this.layout.unpack(data, blockHeaderBytes, count * dimension, codes, row * dimension, dimension);
    const params = this.paramsOffset(count);
    if (this.role === "key") {
      const base = params + 4 * Math.floor(row / this.groupSize) * dimension;
      for (let channel = 0; channel < dimension; channel++) {
        const offset = base + 4 * channel;
        out[outOffset + channel] = readZero(data, offset) + readScale(data, offset) * codes[channel];
      }
    } else {
      for (let group = 0; group < this.channelGroups; group++) {
        const offset = params + 4 * (row * this.channelGroups + group);
        const scale = readScale(data, offset);
        const zero = readZero(data, offset);
        const last = Math.min(dimension, (group + 1) * this.groupSize);
        for (let channel = group * this.groupSize; channel < last; channel++) out[outOffset + channel] = zero + scale * codes[channel];
      }
    }
  }

  /** Table: per channel group, Σ q_j over the group (value role). */
  protected queryTableLength(): number {
    return this.channelGroups;
  }

  protected prepareState(state: QueryState): void {
    state.internal.set(state.query);
    state.table.fill(0);
    for (let channel = 0; channel < this.dimension; channel++) state.table[Math.floor(channel / this.groupSize)] += state.query[channel];
  }

  protected scoresInto(state: QueryState, data: Uint8Array, count: number, out: Float32Array): void {
    const dimension = this.dimension;
    const query = state.internal;
    const codes = this.codes;
    const params = this.paramsOffset(count);
    if (this.role === "key") {
      // Per token group: q_j·scale_j and Σ q_j·zero_j once, then one multiply-add per code.
      const weighted = this.weightedScales;
      let base = 0;
      for (let row = 0; row < count; row++) {
        if (row % this.groupSize === 0) {
          const groupOffset = params + 4 * (row / this.groupSize) * dimension;
          base = 0;
          for (let channel = 0; channel < dimension; channel++) {
            weighted[channel] = query[channel] * readScale(data, groupOffset + 4 * channel);
            base += query[channel] * readZero(data, groupOffset + 4 * channel);
          }
        }
        this.layout.unpack(data, blockHeaderBytes, count * dimension, codes, row * dimension, dimension);
        let sum = base;
        for (let channel = 0; channel < dimension; channel++) sum += weighted[channel] * codes[channel];
        out[row] = sum;
      }
    } else {
      for (let row = 0; row < count; row++) {
        this.layout.unpack(data, blockHeaderBytes, count * dimension, codes, row * dimension, dimension);
        let sum = 0;
        for (let group = 0; group < this.channelGroups; group++) {
          const offset = params + 4 * (row * this.channelGroups + group);
          const last = Math.min(dimension, (group + 1) * this.groupSize);
          let dot = 0;
          for (let channel = group * this.groupSize; channel < last; channel++) dot += query[channel] * codes[channel];
          sum += readZero(data, offset) * state.table[group] + readScale(data, offset) * dot;
        }
        out[row] = sum;
      }
    }
  }

  protected accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void {
    for (let row = 0; row < count; row++) {
      const weight = weights[row];
      if (weight === 0) continue;
      this.decodeRowInto(data, count, row, this.row, 0);
      for (let channel = 0; channel < this.dimension; channel++) accumulator[channel] += weight * this.row[channel];
    }
  }
}
