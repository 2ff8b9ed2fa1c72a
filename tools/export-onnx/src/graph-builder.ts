import type { OnnxAttribute, OnnxElementType, OnnxGraph, OnnxNode, OnnxTensor, OnnxTensorData, OnnxValueInfo } from "./onnx-proto.js";

/**
 * Collects nodes and initializers for one ONNX graph. Every node gets a unique output name
 * built from a readable prefix, so a graph viewer (Netron) shows where each value comes from.
 */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly int64Constants = new Map<string, string>();
  private readonly floatConstants = new Map<number, string>();
  private readonly usedNames = new Set<string>();
  private counter = 0;

  /** A name not used yet, derived from `hint`. */
  uniqueName(hint: string): string {
    let name = hint;
    while (this.usedNames.has(name)) name = `${hint}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  /** Marks a graph input name as taken. */
  reserve(name: string): string {
    if (this.usedNames.has(name)) throw new Error(`GraphBuilder: name ${name} is already used`);
    this.usedNames.add(name);
    return name;
  }

  /** Adds a single-output node and returns its output name (`output` when given, else derived from `hint`). */
  op(opType: string, inputs: readonly string[], hint: string, attributes?: Record<string, OnnxAttribute>, output?: string, domain?: string): string {
    const outputName = output === undefined ? this.uniqueName(hint) : this.reserve(output);
    this.nodes.push({ name: `${outputName}/${opType}`, opType, inputs, outputs: [outputName], attributes, ...(domain === undefined ? {} : { domain }) });
    return outputName;
  }

  initializer(name: string, elementType: OnnxElementType, dims: readonly number[], data: OnnxTensorData): string {
    const unique = this.uniqueName(name);
    this.initializers.push({ name: unique, elementType, dims, data });
    return unique;
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds), shared between every use of the same values. */
  int64s(values: readonly number[]): string {
    const key = values.join(",");
    const existing = this.int64Constants.get(key);
    if (existing) return existing;
    const name = this.initializer(`const.int64[${key}]`, "int64", [values.length], BigInt64Array.from(values, (value) => BigInt(value)));
    this.int64Constants.set(key, name);
    return name;
  }

  /** A 0-D int64 constant (Range bounds). */
  int64Scalar(value: number): string {
    const key = `scalar:${value}`;
    const existing = this.int64Constants.get(key);
    if (existing) return existing;
    const name = this.initializer(`const.int64.${value}`, "int64", [], BigInt64Array.of(BigInt(value)));
    this.int64Constants.set(key, name);
    return name;
  }

  /** A 0-D float constant. */
  floatScalar(value: number): string {
    const existing = this.floatConstants.get(value);
    if (existing) return existing;
    const name = this.initializer(`const.float.${value}`, "float", [], Float32Array.of(value));
    this.floatConstants.set(value, name);
    return name;
  }

  build(name: string, inputs: readonly OnnxValueInfo[], outputs: readonly OnnxValueInfo[]): OnnxGraph {
    return { name, nodes: [...this.nodes], initializers: [...this.initializers], inputs, outputs };
  }
}
