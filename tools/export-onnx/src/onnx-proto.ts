import { ProtobufWriter } from "./protobuf-writer.js";

/**
 * The subset of onnx.proto (github.com/onnx/onnx/blob/main/onnx/onnx.proto) that a plain
 * inference graph needs, as TypeScript values, and their protobuf encoding. Field numbers are
 * the ones in onnx.proto; each encoder names them next to the call.
 */

/** TensorProto.DataType values. */
export const OnnxDataType = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 } as const;
export type OnnxElementType = keyof typeof OnnxDataType;

/** float16 tensors hold IEEE half-precision bit patterns in a Uint16Array. */
export type OnnxTensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export interface OnnxTensor {
  readonly name: string;
  readonly elementType: OnnxElementType;
  readonly dims: readonly number[];
  /** Row-major values; bool tensors hold one byte (0 or 1) per element. */
  readonly data: OnnxTensorData;
}

export type OnnxAttribute =
  | { readonly type: "int"; readonly value: number }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "ints"; readonly value: readonly number[] }
  | { readonly type: "floats"; readonly value: readonly number[] }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "tensor"; readonly value: OnnxTensor };

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
  /** Operator set domain; absent = the default ONNX domain ("com.microsoft" for ORT contrib ops such as MatMulNBits). */
  readonly domain?: string;
}

/** A graph input or output: element type and shape, where a string is a symbolic dimension. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elementType: OnnxElementType;
  readonly shape: readonly (number | string)[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  /** IR version 8 goes with opset 17. */
  readonly irVersion: number;
  readonly opsetVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Operator sets of other domains the graph uses (e.g. { domain: "com.microsoft", version: 1 }). */
  readonly extraOpsets?: readonly { readonly domain: string; readonly version: number }[];
  readonly graph: OnnxGraph;
}

/** AttributeProto.AttributeType values. */
const AttributeType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

function tensorBytes(tensor: OnnxTensor): Uint8Array {
  const expected = elementCount(tensor.dims);
  if (tensor.data.length !== expected) {
    throw new RangeError(`ONNX tensor ${tensor.name}: dims [${tensor.dims.join(", ")}] need ${expected} values, got ${tensor.data.length}`);
  }
  // raw_data is little-endian; every platform Node and browsers run on is little-endian too.
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/**
 * Where initializer bytes go instead of raw_data (ONNX external data): `place` appends them to the
 * data file and says where; tensors it declines (returns undefined) stay inline.
 */
export interface ExternalDataSink {
  place(bytes: Uint8Array): { readonly location: string; readonly offset: number; readonly length: number } | undefined;
}

export function encodeTensor(writer: ProtobufWriter, tensor: OnnxTensor, external?: ExternalDataSink): void {
  writer.packedInt64Field(1, tensor.dims); // dims
  writer.int64Field(2, OnnxDataType[tensor.elementType]); // data_type
  writer.stringField(8, tensor.name); // name
  const bytes = tensorBytes(tensor);
  const placed = external?.place(bytes);
  if (placed === undefined) {
    writer.bytesField(9, bytes); // raw_data
    return;
  }
  for (const [key, value] of [["location", placed.location], ["offset", String(placed.offset)], ["length", String(placed.length)]]) {
    writer.messageField(13, (entry) => {
      // external_data: StringStringEntryProto key, value
      entry.stringField(1, key);
      entry.stringField(2, value);
    });
  }
  writer.int64Field(14, 1); // data_location = EXTERNAL
}

function encodeAttribute(writer: ProtobufWriter, name: string, attribute: OnnxAttribute): void {
  writer.stringField(1, name); // name
  switch (attribute.type) {
    case "float":
      writer.floatField(2, attribute.value); // f
      break;
    case "int":
      writer.int64Field(3, attribute.value); // i
      break;
    case "string":
      writer.stringField(4, attribute.value); // s
      break;
    case "tensor":
      writer.messageField(5, (nested) => encodeTensor(nested, attribute.value)); // t
      break;
    case "floats":
      writer.packedFloatField(7, attribute.value); // floats
      break;
    case "ints":
      writer.packedInt64Field(8, attribute.value); // ints
      break;
  }
  writer.int64Field(20, AttributeType[attribute.type]); // type
}

function encodeNode(writer: ProtobufWriter, node: OnnxNode): void {
  for (const input of node.inputs) writer.stringField(1, input); // input
  for (const output of node.outputs) writer.stringField(2, output); // output
  writer.stringField(3, node.name); // name
  writer.stringField(4, node.opType); // op_type
  for (const [name, attribute] of Object.entries(node.attributes ?? {})) {
    writer.messageField(5, (nested) => encodeAttribute(nested, name, attribute)); // attribute
  }
  if (node.domain) writer.stringField(7, node.domain); // domain
}

function encodeValueInfo(writer: ProtobufWriter, info: OnnxValueInfo): void {
  writer.stringField(1, info.name); // name
  writer.messageField(2, (type) => {
    // TypeProto.tensor_type
    type.messageField(1, (tensorType) => {
      tensorType.int64Field(1, OnnxDataType[info.elementType]); // elem_type
      tensorType.messageField(2, (shape) => {
        // TensorShapeProto.dim
        for (const dim of info.shape) {
          shape.messageField(1, (dimension) => {
            if (typeof dim === "number") dimension.int64Field(1, dim); // dim_value
            else dimension.stringField(2, dim); // dim_param
          });
        }
      });
    });
  });
}

function encodeGraph(writer: ProtobufWriter, graph: OnnxGraph, external?: ExternalDataSink): void {
  for (const node of graph.nodes) writer.messageField(1, (nested) => encodeNode(nested, node)); // node
  writer.stringField(2, graph.name); // name
  for (const tensor of graph.initializers) writer.messageField(5, (nested) => encodeTensor(nested, tensor, external)); // initializer
  for (const input of graph.inputs) writer.messageField(11, (nested) => encodeValueInfo(nested, input)); // input
  for (const output of graph.outputs) writer.messageField(12, (nested) => encodeValueInfo(nested, output)); // output
}

/** Serializes a ModelProto; with `external`, initializers it takes are stored as external data. */
export function encodeModel(model: OnnxModel, external?: ExternalDataSink): Uint8Array {
  const writer = new ProtobufWriter();
  writer.int64Field(1, model.irVersion); // ir_version
  writer.stringField(2, model.producerName); // producer_name
  writer.stringField(3, model.producerVersion); // producer_version
  if (model.docString) writer.stringField(6, model.docString); // doc_string
  writer.messageField(7, (nested) => encodeGraph(nested, model.graph, external)); // graph
  writer.messageField(8, (opset) => {
    // OperatorSetIdProto: the default domain "" is left out, version
    opset.int64Field(2, model.opsetVersion);
  });
  for (const extra of model.extraOpsets ?? []) {
    writer.messageField(8, (opset) => {
      opset.stringField(1, extra.domain); // domain
      opset.int64Field(2, extra.version); // version
    });
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    writer.messageField(14, (entry) => {
      // StringStringEntryProto
      entry.stringField(1, key);
      entry.stringField(2, value);
    });
  }
  return writer.finish();
}
