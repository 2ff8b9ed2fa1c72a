import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";

/** A byte store by key (the same shape as @kvpack/cache's PageStore). */
export interface ByteStore {
  readonly name: "disk" | "redis";
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  delete(key: string): Promise<boolean>;
  close(): Promise<void>;
}

const safeKey = /^[A-Za-z0-9_.-]{1,200}$/;

function checkKey(key: string): void {
  if (!safeKey.test(key)) throw new RangeError(`store keys are 1–200 of A–Z a–z 0–9 _ . -, got ${JSON.stringify(key.slice(0, 40))}`);
}

/** One file per key (two-level fan-out); writes go to a temp file and are renamed, so readers never see half a page. */
export class DiskByteStore implements ByteStore {
  readonly name = "disk" as const;
  private sequence = 0;

  constructor(readonly directory: string) {}

  private file(key: string): string {
    checkKey(key);
    return path.join(this.directory, key.slice(-2), `${key}.bin`);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.file(key);
    await mkdir(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.${this.sequence++}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.file(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await rm(this.file(key));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Deletes entries not written for `maxAgeMs` (the disk tier is a cache with the same lifetime as
   * Redis entries, so it cannot grow without bound). Returns the number of files removed.
   */
  async sweep(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    let shards: string[];
    try {
      shards = await readdir(this.directory);
    } catch {
      return 0;
    }
    for (const shard of shards) {
      if (!/^[A-Za-z0-9_.-]{2}$/.test(shard)) continue;
      const folder = path.join(this.directory, shard);
      let files: string[];
      try {
        files = await readdir(folder);
      } catch {
        continue;
      }
      for (const file of files) {
        if (!file.endsWith(".bin") && !file.endsWith(".tmp")) continue;
        const full = path.join(folder, file);
        try {
          if (now - (await stat(full)).mtimeMs > maxAgeMs) {
            await rm(full, { force: true });
            removed++;
          }
        } catch {
          // Removed by another process meanwhile.
        }
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}

/** Redis tier: shared by every server process pointed at the same instance. Entries expire after `ttlSeconds`. */
export class RedisByteStore implements ByteStore {
  readonly name = "redis" as const;
  private readonly client: Redis;

  constructor(
    url: string,
    private readonly ttlSeconds: number,
    onError: (error: Error) => void,
  ) {
    this.client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, connectTimeout: 2000, enableReadyCheck: true });
    this.client.on("error", onError);
  }

  async ready(timeoutMs = 3000): Promise<void> {
    if (this.client.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Redis not ready after ${timeoutMs} ms`)), timeoutMs);
      this.client.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    checkKey(key);
    await this.client.set(`kvpack:server:${key}`, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), "EX", this.ttlSeconds);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    const value = await this.client.getBuffer(`kvpack:server:${key}`);
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return (await this.client.del(`kvpack:server:${key}`)) > 0;
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
