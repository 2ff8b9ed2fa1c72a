import { ModelFormatError } from "../model/model-format-error.js";

/**
 * Where a Hugging Face model folder lives: a directory path (Node), a URL of the folder
 * (`https://…/model/`, `file:///…/`; files are fetched relative to it), or the files themselves
 * keyed by their path inside the folder (`"config.json"`, `"onnx/model.onnx"`), e.g. from a
 * dropped folder's `File`s.
 */
export type ModelFolderSource = string | URL | ReadonlyMap<string, Blob | Uint8Array | ArrayBuffer>;

/** Reads files of one model folder by their path inside it. */
export interface ModelFolderReader {
  /** How the folder is named in error messages. */
  readonly name: string;
  /** The file's bytes, or undefined when the folder has no such file. */
  read(path: string): Promise<Uint8Array | undefined>;
}

const urlPattern = /^(https?|blob|file):/i;
const nodeFsSpecifier = "node:fs/promises";
const nodePathSpecifier = "node:path";

function cannotRead(folder: string, path: string, error: unknown): ModelFormatError {
  return new ModelFormatError("model-folder", "fetch-failed", `model folder ${folder}: cannot read ${path}: ${(error as Error).message ?? String(error)}`);
}

function mapReader(files: ReadonlyMap<string, Blob | Uint8Array | ArrayBuffer>): ModelFolderReader {
  // A dropped folder's File names may carry the folder's own name ("tiny/config.json"): accept both.
  const byPath = new Map<string, Blob | Uint8Array | ArrayBuffer>();
  for (const [key, value] of files) {
    const path = key.replace(/^\.?\/+/, "");
    byPath.set(path, value);
  }
  const prefix = [...byPath.keys()].every((path) => path.includes("/")) ? /^[^/]+\//.exec([...byPath.keys()][0] ?? "")?.[0] : undefined;
  return {
    name: "(files)",
    async read(path) {
      const value = byPath.get(path) ?? (prefix !== undefined ? byPath.get(prefix + path) : undefined);
      if (value === undefined) return undefined;
      if (value instanceof Uint8Array) return value;
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      try {
        return new Uint8Array(await value.arrayBuffer());
      } catch (error) {
        throw cannotRead("(files)", path, error);
      }
    },
  };
}

function urlReader(base: URL): ModelFolderReader {
  const folder = base.href.endsWith("/") ? base : new URL(`${base.href}/`);
  return {
    name: folder.href,
    async read(path) {
      const url = new URL(path, folder);
      if (url.protocol === "file:") return directoryReader(decodeURIComponent(folder.pathname)).read(path);
      let response: Response;
      try {
        response = await fetch(url);
      } catch (error) {
        throw cannotRead(folder.href, path, error);
      }
      if (response.status === 404) return undefined;
      if (!response.ok) throw new ModelFormatError("model-folder", "fetch-failed", `model folder ${folder.href}: cannot fetch ${path}: HTTP ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

function directoryReader(directory: string): ModelFolderReader {
  return {
    name: directory,
    async read(path) {
      // Variable specifiers: browser bundlers leave node:fs alone.
      const fs = (await import(/* @vite-ignore */ nodeFsSpecifier)) as typeof import("node:fs/promises");
      const nodePath = (await import(/* @vite-ignore */ nodePathSpecifier)) as typeof import("node:path");
      try {
        return new Uint8Array(await fs.readFile(nodePath.join(directory, path)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw cannotRead(directory, path, error);
      }
    },
  };
}

/** A reader for a model folder given as a directory, a URL or a map of files. */
export function openModelFolder(source: ModelFolderSource): ModelFolderReader {
  if (source instanceof Map) return mapReader(source);
  if (source instanceof URL) return urlReader(source);
  if (typeof source === "string") return urlPattern.test(source) ? urlReader(new URL(source)) : directoryReader(source);
  throw new ModelFormatError("model-folder", "fetch-failed", "a model folder must be a directory path, a URL or a Map of file paths to Files / bytes");
}
