import { createOnnxDecoder, loadOnnxRuntimeNode, OnnxDecoderError, type OnnxRuntimeModule } from "@kvpack/adapters";
import type { InferenceSession, Tensor } from "onnxruntime-common";
import { beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "./graph-builder.js";
import { encodeModel, type OnnxModel } from "./onnx-proto.js";

function model(build: (graph: GraphBuilder) => void, inputs: OnnxModel["graph"]["inputs"], outputs: OnnxModel["graph"]["outputs"]): Uint8Array {
  const graph = new GraphBuilder();
  for (const input of inputs) graph.reserve(input.name);
  build(graph);
  return encodeModel({ irVersion: 8, opsetVersion: 17, producerName: "test", producerVersion: "0", graph: graph.build("test", inputs, outputs) });
}

describe("encodeModel, loaded by onnxruntime-node", () => {
  let ort: OnnxRuntimeModule;
  beforeAll(async () => {
    ort = await loadOnnxRuntimeNode();
  });

  it("round-trips initializers, int/ints/float attributes and symbolic dimensions", async () => {
    // y = LeakyRelu(Transpose(x · W + b), alpha 0.5), x [batch, 3], W [3, 2].
    const weight = Float32Array.of(1, -2, 0.5, 3, -1, 4);
    const bias = Float32Array.of(0.25, -10);
    const bytes = model(
      (graph) => {
        const product = graph.op("MatMul", ["x", graph.initializer("w", "float", [3, 2], weight)], "product");
        const shifted = graph.op("Add", [product, graph.initializer("b", "float", [2], bias)], "shifted");
        const transposed = graph.op("Transpose", [shifted], "transposed", { perm: { type: "ints", value: [1, 0] } });
        graph.op("LeakyRelu", [transposed], "", { alpha: { type: "float", value: 0.5 } }, "y");
      },
      [{ name: "x", elementType: "float", shape: ["batch", 3] }],
      [{ name: "y", elementType: "float", shape: [2, "batch"] }],
    );
    const session: InferenceSession = await ort.InferenceSession.create(bytes);
    expect(session.inputMetadata[0]).toMatchObject({ name: "x", type: "float32", shape: ["batch", 3] });
    const x = Float32Array.of(1, 2, 3, -1, 0, 2);
    const { y } = await session.run({ x: new ort.Tensor("float32", x, [2, 3]) as Tensor });
    // Closed form, row r of x: z_c = Σ_k x[r,k]·W[k,c] + b[c]; y[c, r] = z ≥ 0 ? z : 0.5·z.
    const expected: number[] = [];
    for (let c = 0; c < 2; c++) {
      for (let r = 0; r < 2; r++) {
        let z = bias[c];
        for (let k = 0; k < 3; k++) z += x[r * 3 + k] * weight[k * 2 + c];
        expected.push(z >= 0 ? z : 0.5 * z);
      }
    }
    expect(y.dims).toEqual([2, 2]);
    // Small integers and halves: exact in float32.
    expect(Array.from(y.data as Float32Array)).toEqual(expected);
    await session.release();
  });

  it("round-trips int64 constants, 0-D scalars and a negative int attribute (Range, Gather, Concat axis -1)", async () => {
    const bytes = model(
      (graph) => {
        const range = graph.op("Range", [graph.int64Scalar(2), graph.int64Scalar(7), graph.int64Scalar(2)], "range");
        const gathered = graph.op("Gather", [range, graph.int64s([2, 0])], "gathered", { axis: { type: "int", value: 0 } });
        graph.op("Concat", [gathered, "n"], "", { axis: { type: "int", value: -1 } }, "out");
      },
      [{ name: "n", elementType: "int64", shape: [1] }],
      [{ name: "out", elementType: "int64", shape: [3] }],
    );
    const session: InferenceSession = await ort.InferenceSession.create(bytes);
    const { out } = await session.run({ n: new ort.Tensor("int64", BigInt64Array.of(-9n), [1]) as Tensor });
    // Range(2, 7, 2) = [2, 4, 6]; Gather [2, 0] → [6, 2]; Concat with [-9].
    expect(Array.from(out.data as BigInt64Array)).toEqual([6n, 2n, -9n]);
    await session.release();
  });

  it("a valid model without the decoder-with-past inputs gives a clear OnnxDecoderError", async () => {
    const bytes = model(
      (graph) => {
        graph.op("Cast", ["input_ids"], "", { to: { type: "int", value: 1 } }, "logits");
      },
      [{ name: "input_ids", elementType: "int64", shape: ["batch", "sequence", 1] }],
      [{ name: "logits", elementType: "float", shape: ["batch", "sequence", 1] }],
    );
    const error = await createOnnxDecoder({ ort, model: bytes }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(OnnxDecoderError.isInstance(error)).toBe(true);
    const decoderError = error as OnnxDecoderError;
    // input_ids is rank 3 here, so the first complaint is its rank.
    expect(decoderError.code).toBe("bad-signature");
    expect(decoderError.message).toContain('"input_ids" must have rank 2');
  });

  it("names the first missing input of the layout", async () => {
    const bytes = model(
      (graph) => {
        graph.op("Cast", ["input_ids"], "", { to: { type: "int", value: 1 } }, "logits");
      },
      [{ name: "input_ids", elementType: "int64", shape: ["batch", "sequence"] }],
      [{ name: "logits", elementType: "float", shape: ["batch", "sequence"] }],
    );
    const error = (await createOnnxDecoder({ ort, model: bytes }).catch((reason: unknown) => reason)) as OnnxDecoderError;
    expect(OnnxDecoderError.isInstance(error)).toBe(true);
    expect(error.code).toBe("missing-input");
    expect(error.message).toBe(
      'ONNX decoder: the model has no input "attention_mask" (its inputs: input_ids); expected a decoder-with-past model in the Hugging Face Optimum layout',
    );
  });
});
