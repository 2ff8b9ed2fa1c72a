import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { GgufByteSource } from "../gguf/gguf-byte-source.js";
import { ModelArgumentError } from "../model/model-format-error.js";

/** A GgufByteSource over a file on disk, read with positioned reads; `close()` when the loader is done. */
export interface FileByteSource extends GgufByteSource {
  readonly path: string;
  close(): void;
}

/**
 * Opens `path` for positioned reads. `loadGgufLlama(fileByteSource(path), { lazyMatrices: true })`
 * reads the header, then each tensor when a backend uploads it, so the file is never held in memory
 * whole (reading it with readFileSync first costs its size again at load).
 */
export function fileByteSource(path: string): FileByteSource {
  let descriptor: number | undefined = openSync(path, "r");
  const byteLength = fstatSync(descriptor).size;
  return {
    path,
    byteLength,
    readsCopy: true,
    read(offset, length) {
      if (descriptor === undefined) throw new ModelArgumentError(`${path} was read after its byte source was closed`);
      if (offset < 0 || length < 0 || offset + length > byteLength) throw new ModelArgumentError(`read of ${length} bytes at ${offset} is outside ${path} (${byteLength} bytes)`);
      const bytes = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const count = readSync(descriptor, bytes, done, length - done, offset + done);
        if (count === 0) throw new ModelArgumentError(`${path} ended at ${offset + done} bytes while reading ${length} at ${offset}; was it changed while open?`);
        done += count;
      }
      return bytes;
    },
    close() {
      if (descriptor !== undefined) closeSync(descriptor);
      descriptor = undefined;
    },
  };
}
