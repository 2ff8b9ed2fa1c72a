import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "./crc32.js";
import { CacheConfigurationError, CorruptPageError } from "./errors.js";
import type { PageStore } from "./page-store.js";

/**
 * Disk tier (Node only; import from "@kvpack/cache/node"): one file per page.
 *
 * File layout: "KVDF" | u32 key length | u32 payload length | u32 CRC-32 over key and payload
 * | key (UTF-8) | payload. Writes are atomic: write a uniquely named temp file, fsync it, rename it
 * over the final name, fsync the directory. A process killed at any point leaves either the old
 * complete file, the new complete file, or no file, plus at worst a stray temp file that `open`
 * removes and `get` never reads. A flipped byte or a short file fails the CRC and `get` throws
 * {@link CorruptPageError} instead of returning bytes.
 */
const fileMagic = 0x4644564b; // "KVDF" as little-endian u32
const frameHeaderBytes = 16;
const pageSuffix = ".page";
const temporarySuffix = ".tmp";
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export interface DiskPageStoreOptions {
  /** fsync file and directory on every put (default true; false only for throwaway caches). */
  readonly durable?: boolean;
}

/** Key → file name: [A-Za-z0-9._-] kept, everything else as %XX of its UTF-8 bytes. */
function fileNameFor(key: string): string {
  if (key.length === 0) throw new CacheConfigurationError("page keys must be non-empty");
  let name = "";
  for (const byte of textEncoder.encode(key)) {
    const char = String.fromCharCode(byte);
    name += /[A-Za-z0-9_-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return name + pageSuffix;
}

function keyFor(fileName: string): string {
  return decodeURIComponent(fileName.slice(0, -pageSuffix.length));
}

function isMissing(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: string }).code === "ENOENT";
}

export class DiskPageStore implements PageStore {
  readonly directory: string;
  private readonly durable: boolean;
  private writeCounter = 0;
  private ready: Promise<void> | undefined;

  constructor(directory: string, options: DiskPageStoreOptions = {}) {
    this.directory = directory;
    this.durable = options.durable ?? true;
  }

  /** Creates the directory and removes temp files left by a crashed writer. */
  static async open(directory: string, options?: DiskPageStoreOptions): Promise<DiskPageStore> {
    const store = new DiskPageStore(directory, options);
    await store.ensureDirectory();
    await store.removeTemporaryFiles();
    return store;
  }

  private ensureDirectory(): Promise<void> {
    this.ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined);
    return this.ready;
  }

  /** Deletes leftover temp files; returns how many. Only call when no other writer is active. */
  async removeTemporaryFiles(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.directory)) {
      if (!name.endsWith(temporarySuffix)) continue;
      await unlink(join(this.directory, name)).catch(() => undefined);
      removed += 1;
    }
    return removed;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.ensureDirectory();
    const keyBytes = textEncoder.encode(key);
    const frame = new Uint8Array(frameHeaderBytes + keyBytes.length + bytes.length);
    const view = new DataView(frame.buffer);
    frame.set(keyBytes, frameHeaderBytes);
    frame.set(bytes, frameHeaderBytes + keyBytes.length);
    view.setUint32(0, fileMagic, true);
    view.setUint32(4, keyBytes.length, true);
    view.setUint32(8, bytes.length, true);
    view.setUint32(12, crc32(frame, frameHeaderBytes), true);
    const finalPath = join(this.directory, fileNameFor(key));
    const temporaryPath = `${finalPath}.${process.pid}.${this.writeCounter++}${temporarySuffix}`;
    const handle = await open(temporaryPath, "w");
    try {
      await handle.writeFile(frame);
      if (this.durable) await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temporaryPath).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await rename(temporaryPath, finalPath);
    if (this.durable) {
      // The rename itself is durable only once the directory entry is synced.
      const directory = await open(this.directory, "r");
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    let frame: Uint8Array;
    try {
      frame = await readFile(join(this.directory, fileNameFor(key)));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (frame.length < frameHeaderBytes) throw new CorruptPageError(`file of ${frame.length} bytes is shorter than its header`, key);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    if (view.getUint32(0, true) !== fileMagic) throw new CorruptPageError("bad file magic", key);
    const keyLength = view.getUint32(4, true);
    const payloadLength = view.getUint32(8, true);
    if (frameHeaderBytes + keyLength + payloadLength !== frame.length) {
      throw new CorruptPageError(`file length ${frame.length} does not match its header`, key);
    }
    const stored = view.getUint32(12, true);
    if (crc32(frame, frameHeaderBytes) !== stored) throw new CorruptPageError("file CRC-32 mismatch", key);
    let storedKey: string;
    try {
      storedKey = textDecoder.decode(frame.subarray(frameHeaderBytes, frameHeaderBytes + keyLength));
    } catch {
      throw new CorruptPageError("unreadable key", key);
    }
    if (storedKey !== key) throw new CorruptPageError(`file holds key ${storedKey}`, key);
    return new Uint8Array(frame.subarray(frameHeaderBytes + keyLength)); // a plain Uint8Array, not a Buffer
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(join(this.directory, fileNameFor(key)))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(join(this.directory, fileNameFor(key)));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /**
   * Deletes page files and stray temp files not written for `maxAgeMs` (a disk tier used as a
   * cache gets the same lifetime as its Redis entries, so it cannot grow without bound). Safe
   * while other processes write to the same directory, as long as `maxAgeMs` is longer than any
   * write takes. Returns the number of files removed.
   */
  async sweep(maxAgeMs: number, now = Date.now()): Promise<number> {
    if (!(maxAgeMs >= 0)) throw new CacheConfigurationError(`sweep: maxAgeMs must be ≥ 0, got ${maxAgeMs}`);
    return this.removeFiles((modifiedMs) => now - modifiedMs > maxAgeMs);
  }

  /**
   * Deletes every page and temp file, then the directory itself when nothing else is in it (for a
   * scratch tier owned by one process, e.g. pages a policy offloaded). Returns the files removed.
   */
  async clear(): Promise<number> {
    const removed = await this.removeFiles(() => true);
    await rmdir(this.directory).catch(() => undefined); // absent or holding other files: leave it
    this.ready = undefined;
    return removed;
  }

  private async removeFiles(shouldRemove: (modifiedMs: number) => boolean): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      if (!name.endsWith(pageSuffix) && !name.endsWith(temporarySuffix)) continue;
      const file = join(this.directory, name);
      try {
        const info = await stat(file);
        if (!info.isFile() || !shouldRemove(info.mtimeMs)) continue;
        await unlink(file);
        removed += 1;
      } catch (error) {
        if (!isMissing(error)) throw error; // ENOENT: another process removed it meanwhile
      }
    }
    return removed;
  }

  /** Keys of the complete page files (temp files are never listed). */
  async keys(): Promise<string[]> {
    await this.ensureDirectory();
    return (await readdir(this.directory)).filter((name) => name.endsWith(pageSuffix)).map(keyFor);
  }
}
