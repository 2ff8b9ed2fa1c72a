import { CodebookError } from "./codebook-error.js";
import { buildFibQuantCodebook, resolveFibQuantOptions, type FibQuantOptions, type ResolvedFibQuantOptions } from "./fibquant-codebook.js";
import { buildScalarCodebook, type ScalarCodebook, type ScalarCodebookOptions } from "./scalar-codebook.js";
import { deserializeCodebook, serializeCodebook } from "./serialization.js";
import type { VectorCodebook } from "./vector-codebook.js";

/** The few `node:fs` / `node:path` functions the file cache uses. */
interface FileSystem {
  readFileSync(path: string): Uint8Array;
  writeFileSync(path: string, data: Uint8Array): void;
  renameSync(from: string, to: string): void;
  mkdirSync(path: string, options: { recursive: boolean }): unknown;
  existsSync(path: string): boolean;
}

export interface CodebookCacheStats {
  /** Lookups answered from memory or disk. */
  hits: number;
  /** Lookups that had to build. */
  misses: number;
  /** Hits that were read from the cache directory. */
  fileHits: number;
  /** Wall-clock milliseconds of the most recent build (0 before any). */
  lastBuildMilliseconds: number;
  /** Sum over all builds. */
  totalBuildMilliseconds: number;
}

export interface CodebookCacheOptions {
  /** Directory for the optional file cache (Node only; ignored where `node:fs` is unavailable). */
  directory?: string;
}

/**
 * Memoizes codebook construction: an in-memory Map keyed by the fully resolved options, and optionally a directory
 * of serialized codebooks that survives restarts. `node:fs` is reached through `process.getBuiltinModule` where it
 * exists (synchronous), otherwise by a dynamic import started in the constructor (`await cache.ready()`), so the
 * package still bundles and runs in browsers, where only the memory cache is used.
 */
export class CodebookCache {
  readonly directory: string | undefined;
  private readonly entries = new Map<string, VectorCodebook | ScalarCodebook>();
  private readonly buildTimes = new Map<string, number>();
  private fileSystem: FileSystem | undefined;
  private readonly loading: Promise<void>;
  private readonly counters: CodebookCacheStats = { hits: 0, misses: 0, fileHits: 0, lastBuildMilliseconds: 0, totalBuildMilliseconds: 0 };

  constructor(options: CodebookCacheOptions = {}) {
    this.directory = options.directory;
    this.fileSystem = this.directory !== undefined ? synchronousFileSystem() : undefined;
    this.loading =
      this.directory !== undefined && this.fileSystem === undefined
        ? importFileSystem().then((fileSystem) => {
            this.fileSystem = fileSystem;
          })
        : Promise.resolve();
  }

  /** Resolves once the file cache (if any) can be used. */
  ready(): Promise<void> {
    return this.loading;
  }

  /** Whether codebooks are also read from and written to `directory`. */
  get usesFiles(): boolean {
    return this.directory !== undefined && this.fileSystem !== undefined;
  }

  get stats(): Readonly<CodebookCacheStats> {
    return { ...this.counters };
  }

  /** Build time in milliseconds of the codebook stored under these options (undefined if not built here). */
  buildMilliseconds(options: FibQuantOptions): number | undefined {
    return this.buildTimes.get(fibQuantKey(resolveFibQuantOptions(options)));
  }

  getFibQuant(options: FibQuantOptions): VectorCodebook {
    const resolved = resolveFibQuantOptions(options);
    const key = fibQuantKey(resolved);
    return this.lookup(key, "vector", () => buildFibQuantCodebook({ ...resolved, onProgress: options.onProgress })) as VectorCodebook;
  }

  /** Like `getFibQuant`, but first waits for the file cache to become available. */
  async getFibQuantAsync(options: FibQuantOptions): Promise<VectorCodebook> {
    await this.ready();
    return this.getFibQuant(options);
  }

  getScalar(options: ScalarCodebookOptions): ScalarCodebook {
    const key = `scalar-d${options.sourceDimension}-b${options.bits}`;
    return this.lookup(key, "scalar", () => buildScalarCodebook(options)) as ScalarCodebook;
  }

  async getScalarAsync(options: ScalarCodebookOptions): Promise<ScalarCodebook> {
    await this.ready();
    return this.getScalar(options);
  }

  /** Forgets the in-memory entries (files stay). */
  clear(): void {
    this.entries.clear();
  }

  private lookup(key: string, kind: "vector" | "scalar", build: () => VectorCodebook | ScalarCodebook): VectorCodebook | ScalarCodebook {
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      this.counters.hits++;
      return cached;
    }
    const fromFile = this.readFile(key, kind);
    if (fromFile !== undefined) {
      this.counters.hits++;
      this.counters.fileHits++;
      this.entries.set(key, fromFile);
      return fromFile;
    }
    this.counters.misses++;
    const started = now();
    const codebook = build();
    const elapsed = now() - started;
    this.counters.lastBuildMilliseconds = elapsed;
    this.counters.totalBuildMilliseconds += elapsed;
    this.buildTimes.set(key, elapsed);
    this.entries.set(key, codebook);
    this.writeFile(key, codebook);
    return codebook;
  }

  private filePath(key: string): string {
    const directory = (this.directory ?? ".").replace(/[\\/]+$/, "");
    return `${directory}/${key}.kvcb`;
  }

  private readFile(key: string, kind: "vector" | "scalar"): VectorCodebook | ScalarCodebook | undefined {
    const fileSystem = this.fileSystem;
    if (fileSystem === undefined || this.directory === undefined) return undefined;
    const path = this.filePath(key);
    if (!fileSystem.existsSync(path)) return undefined;
    try {
      const bytes = fileSystem.readFileSync(path);
      const codebook = deserializeCodebook(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return codebook.kind === kind ? codebook : undefined;
    } catch (error) {
      // A corrupt or outdated file is rebuilt and overwritten; anything else is a real I/O problem.
      if (CodebookError.isInstance(error)) return undefined;
      throw error;
    }
  }

  private writeFile(key: string, codebook: VectorCodebook | ScalarCodebook): void {
    const fileSystem = this.fileSystem;
    if (fileSystem === undefined || this.directory === undefined) return;
    fileSystem.mkdirSync(this.directory, { recursive: true });
    const path = this.filePath(key);
    // Write then rename, so a concurrent reader never sees a half-written file.
    const temporary = `${path}.${Math.floor(Math.random() * 1e9)}.tmp`;
    fileSystem.writeFileSync(temporary, serializeCodebook(codebook));
    fileSystem.renameSync(temporary, path);
  }
}

/** File-safe cache key that names every option affecting the result. */
export function fibQuantKey(options: ResolvedFibQuantOptions): string {
  return [
    "fibquant",
    `d${options.sourceDimension}`,
    `k${options.blockSize}`,
    `n${options.size}`,
    `seed${options.seed}`,
    `r${options.restarts}`,
    `i${options.iterations}`,
    `s${options.samplesPerCodeword}`,
    `p${options.polishIterations}`,
    `e${options.evaluationSamples}`,
    `w${options.relaxation}`,
  ].join("-");
}

function synchronousFileSystem(): FileSystem | undefined {
  const processObject = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
  const fileSystem = processObject?.getBuiltinModule?.("node:fs");
  return fileSystem !== undefined ? (fileSystem as FileSystem) : undefined;
}

async function importFileSystem(): Promise<FileSystem | undefined> {
  // A variable specifier keeps browser bundlers from trying to resolve node:fs.
  const specifier = "node:fs";
  try {
    return (await import(/* @vite-ignore */ specifier)) as FileSystem;
  } catch {
    return undefined;
  }
}

function now(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}

let sharedCache: CodebookCache | undefined;

/**
 * Process-wide cache shared by the codecs. In Node, `KVPACK_CODEBOOK_CACHE_DIR` (if set) enables the file cache.
 */
export function defaultCodebookCache(): CodebookCache {
  if (sharedCache === undefined) {
    const environment = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const directory = environment?.KVPACK_CODEBOOK_CACHE_DIR;
    sharedCache = new CodebookCache(directory !== undefined && directory !== "" ? { directory } : {});
  }
  return sharedCache;
}
