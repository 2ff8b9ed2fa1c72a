import { ModelFormatError } from "../model/model-format-error.js";

/** An ONNX external data file as ONNX Runtime's `externalData` session option takes it: the location the model names, and its bytes. */
export interface OnnxExternalDataFile {
  readonly path: string;
  readonly data: Uint8Array;
}

/**
 * The external data files an ONNX model names (TensorProto external_data "location", relative to
 * the .onnx file), in first-use order. Walks the protobuf wire format for just the fields that can
 * hold tensors — ModelProto.graph (7); GraphProto.initializer (5), sparse_initializer (15), node (1);
 * NodeProto.attribute (5); AttributeProto.t (5), g (6), tensors (10), graphs (11), sparse_tensor
 * (22), sparse_tensors (23); SparseTensorProto.values (1), indices (2); TensorProto.external_data
 * (13) — field numbers from onnx.proto. Skips everything else, so reading the locations costs one
 * pass over the bytes without decoding the model.
 */
export function onnxExternalDataLocations(model: Uint8Array): string[] {
  const locations = new Set<string>();
  const walk = (begin: number, end: number, visit: (field: number, begin: number, end: number) => void) => {
    let at = begin;
    const varint = (): number => {
      let value = 0;
      let scale = 1;
      for (;;) {
        if (at >= end) throw malformed("a varint runs past the end of its message");
        const byte = model[at++];
        value += (byte & 0x7f) * scale;
        if (byte < 0x80) return value;
        scale *= 128;
        if (scale > 2 ** 63) throw malformed("a varint is longer than 10 bytes");
      }
    };
    while (at < end) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (wire === 0) varint();
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) {
        const length = varint();
        if (at + length > end) throw malformed(`field ${field} is ${length} bytes long, past the end of its message`);
        visit(field, at, at + length);
        at += length;
      } else throw malformed(`wire type ${wire} (field ${field}) is not used by ONNX`);
      if (at > end) throw malformed("a fixed-size field runs past the end of its message");
    }
  };
  const text = (begin: number, end: number) => new TextDecoder().decode(model.subarray(begin, end));
  const tensor = (begin: number, end: number) =>
    walk(begin, end, (field, b, e) => {
      if (field !== 13) return;
      let key = "";
      let value = "";
      walk(b, e, (entryField, eb, ee) => {
        if (entryField === 1) key = text(eb, ee);
        else if (entryField === 2) value = text(eb, ee);
      });
      if (key === "location") locations.add(value);
    });
  const sparse = (begin: number, end: number) => walk(begin, end, (field, b, e) => (field === 1 || field === 2 ? tensor(b, e) : undefined));
  const attribute = (begin: number, end: number) =>
    walk(begin, end, (field, b, e) => {
      if (field === 5 || field === 10) tensor(b, e);
      else if (field === 6 || field === 11) graph(b, e);
      else if (field === 22 || field === 23) sparse(b, e);
    });
  const node = (begin: number, end: number) => walk(begin, end, (field, b, e) => (field === 5 ? attribute(b, e) : undefined));
  const graph = (begin: number, end: number): void =>
    walk(begin, end, (field, b, e) => {
      if (field === 5) tensor(b, e);
      else if (field === 15) sparse(b, e);
      else if (field === 1) node(b, e);
    });
  walk(0, model.length, (field, b, e) => (field === 7 ? graph(b, e) : undefined));
  return [...locations];
}

function malformed(detail: string): ModelFormatError {
  return new ModelFormatError("onnx", "truncated", `not an ONNX model (protobuf): ${detail}`);
}
