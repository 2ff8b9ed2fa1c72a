import { ModelFormatError } from "./model-format-error.js";

export interface LoadProgress {
  readonly loadedBytes: number;
  /** Undefined when the server sent no Content-Length. */
  readonly totalBytes: number | undefined;
}

export interface LoadBytesOptions {
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly signal?: AbortSignal;
}

/** Where model bytes come from: a file path (Node), an http(s)/file/blob/data URL, or bytes already in memory. */
export type ModelSource = string | URL | ArrayBuffer | Uint8Array;

const urlPattern = /^(https?|blob|data|file):/i;
const nodeFsSpecifier = "node:fs/promises";

/**
 * Reads a whole model file. Paths use node:fs through a dynamic import, so the package still
 * bundles for browsers; URLs are fetched and streamed, reporting progress per chunk.
 */
export async function loadBytes(source: ModelSource, options: LoadBytesOptions = {}): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const url = source instanceof URL ? source : urlPattern.test(source) ? new URL(source) : undefined;
  if (url && url.protocol !== "file:") return fetchBytes(url, options);
  const path = url ? decodeURIComponent(url.pathname) : (source as string);
  // A variable specifier: browser bundlers leave it alone instead of trying to resolve node:fs.
  const fs = (await import(/* @vite-ignore */ nodeFsSpecifier)) as typeof import("node:fs/promises");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path, { signal: options.signal }));
  } catch (error) {
    throw new ModelFormatError("source", "fetch-failed", `cannot read model file ${path}: ${(error as Error).message}`);
  }
  options.onProgress?.({ loadedBytes: bytes.byteLength, totalBytes: bytes.byteLength });
  return bytes;
}

async function fetchBytes(url: URL, options: LoadBytesOptions): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal });
  } catch (error) {
    throw new ModelFormatError("source", "fetch-failed", `cannot fetch ${url.href}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new ModelFormatError("source", "fetch-failed", `cannot fetch ${url.href}: HTTP ${response.status} ${response.statusText}`);
  const header = response.headers.get("content-length");
  const totalBytes = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    options.onProgress?.({ loadedBytes: bytes.byteLength, totalBytes: bytes.byteLength });
    return bytes;
  }
  const reader = response.body.getReader();
  // With a known length, stream straight into one buffer; otherwise collect chunks and join.
  let buffer = new Uint8Array(totalBytes ?? 1 << 20);
  let loadedBytes = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (error) {
      const expected = totalBytes === undefined ? "" : ` of ${totalBytes} (Content-Length)`;
      throw new ModelFormatError("source", "truncated", `download of ${url.href} truncated: the connection failed after ${loadedBytes} bytes${expected}: ${(error as Error).message}`);
    }
    const { done, value } = chunk;
    if (done) break;
    if (loadedBytes + value.byteLength > buffer.byteLength) {
      const grown = new Uint8Array(Math.max(buffer.byteLength * 2, loadedBytes + value.byteLength));
      grown.set(buffer.subarray(0, loadedBytes));
      buffer = grown;
    }
    buffer.set(value, loadedBytes);
    loadedBytes += value.byteLength;
    options.onProgress?.({ loadedBytes, totalBytes });
  }
  if (totalBytes !== undefined && loadedBytes !== totalBytes) {
    throw new ModelFormatError("source", "truncated", `download of ${url.href} truncated: expected ${totalBytes} bytes (Content-Length), got ${loadedBytes}`);
  }
  return loadedBytes === buffer.byteLength ? buffer : buffer.slice(0, loadedBytes);
}
