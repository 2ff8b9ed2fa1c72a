import { encodeModel, type ExternalDataSink, type OnnxModel } from "./onnx-proto.js";

export interface ExternalDataOptions {
  /** The data file's name as the model names it, relative to the .onnx file (transformers.js: `model.onnx_data` beside `model.onnx`). */
  readonly location: string;
  /** Initializers smaller than this stay inside the graph; default 1024 bytes, onnx.save_model's size_threshold. */
  readonly minimumBytes?: number;
}

// Each tensor starts on a 64-byte boundary, so a runtime that maps the file can view any element type in place.
const alignment = 64;

/** Collects the initializer bytes an ONNX model keeps outside its graph, in one data file. */
export class ExternalDataFile implements ExternalDataSink {
  private readonly chunks: { offset: number; bytes: Uint8Array }[] = [];
  private size = 0;

  constructor(private readonly options: ExternalDataOptions) {}

  place(bytes: Uint8Array): { location: string; offset: number; length: number } | undefined {
    if (bytes.byteLength < (this.options.minimumBytes ?? 1024)) return undefined;
    const offset = Math.ceil(this.size / alignment) * alignment;
    this.chunks.push({ offset, bytes });
    this.size = offset + bytes.byteLength;
    return { location: this.options.location, offset, length: bytes.byteLength };
  }

  /** The data file's bytes (gaps between tensors are zeros). */
  finish(): Uint8Array {
    const data = new Uint8Array(this.size);
    for (const { offset, bytes } of this.chunks) data.set(bytes, offset);
    return data;
  }
}

/** A ModelProto whose large initializers live in `data` (TensorProto data_location EXTERNAL, with location / offset / length). */
export function encodeModelWithExternalData(model: OnnxModel, options: ExternalDataOptions): { model: Uint8Array; data: Uint8Array } {
  const file = new ExternalDataFile(options);
  const bytes = encodeModel(model, file);
  return { model: bytes, data: file.finish() };
}
