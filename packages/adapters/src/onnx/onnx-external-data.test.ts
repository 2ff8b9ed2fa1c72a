import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../model/model-format-error.js";
import { onnxExternalDataLocations } from "./onnx-external-data.js";

// Hand-encoded protobuf (field numbers from onnx.proto): tag = field << 3 | wire type 2, then a length.
const text = (value: string) => [...new TextEncoder().encode(value)];
const varint = (value: number): number[] => (value < 0x80 ? [value] : [(value & 0x7f) | 0x80, ...varint(value >>> 7)]);
const message = (field: number, body: number[]) => [...varint((field << 3) | 2), ...varint(body.length), ...body];
const entry = (key: string, value: string) => message(13, [...message(1, text(key)), ...message(2, text(value))]);
/** TensorProto: name (8), external_data (13) location / offset / length, data_location (14) = 1. */
const externalTensor = (name: string, location: string) => [...message(8, text(name)), ...entry("location", location), ...entry("offset", "0"), ...entry("length", "4"), 14 << 3, 1];

describe("onnxExternalDataLocations", () => {
  it("lists each location once, from initializers and from Constant nodes' tensor attributes", () => {
    const initializers = [...message(5, externalTensor("a", "model.onnx_data")), ...message(5, externalTensor("b", "model.onnx_data"))];
    const node = message(1, message(5, [...message(1, text("value")), ...message(5, externalTensor("c", "constants.bin"))]));
    const model = [8, 8, ...message(7, [...node, ...initializers])]; // ir_version 8, graph
    expect(onnxExternalDataLocations(Uint8Array.from(model))).toEqual(["constants.bin", "model.onnx_data"]);
  });

  it("a model with inline raw_data names none", () => {
    const tensor = [...message(8, text("w")), ...message(9, [0, 0, 128, 63])];
    expect(onnxExternalDataLocations(Uint8Array.from([8, 8, ...message(7, message(5, tensor))]))).toEqual([]);
  });

  it("truncated bytes are a ModelFormatError", () => {
    const model = Uint8Array.from([8, 8, ...message(7, message(5, externalTensor("a", "model.onnx_data")))]).subarray(0, 12);
    const error = (() => {
      try {
        onnxExternalDataLocations(model);
      } catch (caught) {
        return caught;
      }
    })();
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as ModelFormatError).message).toMatch(/^not an ONNX model \(protobuf\): field 7 is \d+ bytes long, past the end of its message/);
  });
});
