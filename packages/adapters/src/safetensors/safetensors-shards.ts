import { ModelFormatError } from "../model/model-format-error.js";
import { SafetensorsFile } from "./safetensors-file.js";

/** One safetensors file, as bytes or already parsed. */
export type SafetensorsInput = ArrayBuffer | Uint8Array | SafetensorsFile;

/** Finds tensors across the shards of a checkpoint. */
export class SafetensorsShards {
  private readonly files: SafetensorsFile[];

  constructor(inputs: SafetensorsInput | readonly SafetensorsInput[]) {
    const list = Array.isArray(inputs) ? inputs : [inputs as SafetensorsInput];
    this.files = list.map((input) => (input instanceof SafetensorsFile ? input : new SafetensorsFile(input)));
  }

  has(name: string): boolean {
    return this.files.some((file) => file.has(name));
  }

  float32(name: string, expectedShape?: readonly number[]): Float32Array {
    const file = this.files.find((candidate) => candidate.has(name));
    if (!file) throw new ModelFormatError("safetensors", "missing-tensor", `safetensors checkpoint has no tensor ${name}`);
    return file.float32(name, expectedShape);
  }
}
