/**
 * A tier that holds page records (bytes) by key: memory, disk, Redis. Stores move bytes only;
 * every record carries its own CRC-32 (see page-record.ts) and the cache verifies it on read,
 * so a store never has to be trusted.
 */
export interface PageStore {
  /** Writes `bytes` under `key`; when the promise resolves the page is durable for this tier. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes stored under `key`, or undefined when absent. */
  get(key: string): Promise<Uint8Array | undefined>;
  has(key: string): Promise<boolean>;
  /** Removes `key`; resolves true when something was removed. */
  delete(key: string): Promise<boolean>;
  /**
   * False while the store knows it cannot serve (e.g. Redis disconnected): callers that treat the
   * tier as optional skip it instead of waiting for a timeout. Absent means always available.
   */
  isAvailable?(): boolean;
  /** Releases connections the store owns (absent: nothing to release). */
  close?(): Promise<void>;
}

/** A named tier the cache can offload pages to (`PolicyAction.tier` refers to the name). */
export interface PageTier {
  readonly name: string;
  readonly store: PageStore;
}

/** In-process tier: a Map of copies (copied on put and on get, so callers cannot alias them). */
export class MemoryPageStore implements PageStore {
  private readonly pages = new Map<string, Uint8Array>();

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.pages.set(key, bytes.slice());
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const bytes = this.pages.get(key);
    return bytes === undefined ? undefined : bytes.slice();
  }

  async has(key: string): Promise<boolean> {
    return this.pages.has(key);
  }

  async delete(key: string): Promise<boolean> {
    return this.pages.delete(key);
  }

  /** Number of pages held. */
  get size(): number {
    return this.pages.size;
  }

  /** Bytes held, all pages. */
  byteLength(): number {
    let total = 0;
    for (const bytes of this.pages.values()) total += bytes.length;
    return total;
  }

  keys(): IterableIterator<string> {
    return this.pages.keys();
  }
}
