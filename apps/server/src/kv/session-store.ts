import { createHash } from "node:crypto";
import type { CompressedKVCache } from "@kvpack/cache";
import { ApiError } from "../http/api-error.js";
import type { KvMemoryBudget } from "../scheduling/kv-memory-budget.js";
import type { KvConfig } from "./kv-config.js";
import { kvConfigKey } from "./kv-config.js";
import type { TieredPageStore } from "./tiered-page-store.js";

/** One conversation's KV, kept between requests. */
export interface Session {
  readonly keyId: string;
  readonly id: string;
  /** Key in the disk/Redis tiers (a hash: the raw id never reaches storage). */
  readonly storageKey: string;
  kvConfig: KvConfig;
  cache: CompressedKVCache | undefined;
  /** Tokens whose KV the cache holds, in order (positions 0 … n−1). */
  tokens: number[];
  /** Bytes this idle session holds in the KV budget (0 while a request uses it). */
  heldBytes: number;
  lastUsed: number;
  busy: boolean;
}

/** Turns a cache into bytes and back; undefined when the cache cannot be saved (it is then dropped). */
export interface SessionSerializer {
  save(session: Session): Uint8Array | undefined;
  load(bytes: Uint8Array): { kvConfig: KvConfig; tokens: number[]; cache: CompressedKVCache } | undefined;
}

export interface SessionStoreOptions {
  budget: KvMemoryBudget;
  store: TieredPageStore | undefined;
  serializer: SessionSerializer;
  modelFingerprint: string;
  maxSessionsPerKey: number;
  ttlMs: number;
  onChange?: (sessions: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Sessions by (API key id, session id): a key can never name another key's session, because the
 * key id is part of both the in-memory key and the storage hash. Idle sessions count in the KV
 * budget; under pressure the least recently used are offloaded to disk/Redis (or dropped when no
 * tier is configured) and restored on their next request.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly pendingOffloads = new Map<string, Promise<void>>();

  constructor(private readonly options: SessionStoreOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Sessions whose KV is in memory (idle or in use). */
  get residentCount(): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.cache || session.busy) count++;
    return count;
  }

  /** Bytes held by idle in-memory sessions. */
  get heldBytes(): number {
    let total = 0;
    for (const session of this.sessions.values()) total += session.heldBytes;
    return total;
  }

  /** Caches of sessions in memory (for resident-bytes metrics). */
  residentCaches(): CompressedKVCache[] {
    const caches: CompressedKVCache[] = [];
    for (const session of this.sessions.values()) if (session.cache && !session.busy) caches.push(session.cache);
    return caches;
  }

  private mapKey(keyId: string, id: string): string {
    return `${keyId}\u0000${id}`;
  }

  storageKeyFor(keyId: string, id: string): string {
    return `session-${createHash("sha256").update(`${keyId}\u0000${id}\u0000${this.options.modelFingerprint}`).digest("hex")}`;
  }

  /**
   * Takes the session for a request (creating it when new). A session already used by a running
   * request is a 409: one conversation is decoded one request at a time.
   */
  async checkout(keyId: string, id: string, kvConfig: KvConfig): Promise<Session> {
    const mapKey = this.mapKey(keyId, id);
    let session = this.sessions.get(mapKey);
    if (session?.busy) throw new ApiError(409, `session ${id} is in use by another request`, { param: "kvpack.session", code: "session_busy" });
    if (!session) {
      if (this.countForKey(keyId) >= this.options.maxSessionsPerKey) this.evictOldestOfKey(keyId);
      session = { keyId, id, storageKey: this.storageKeyFor(keyId, id), kvConfig, cache: undefined, tokens: [], heldBytes: 0, lastUsed: Date.now(), busy: true };
      this.sessions.set(mapKey, session);
      this.options.onChange?.(this.sessions.size);
      await this.restoreFromTiers(session);
    } else {
      session.busy = true;
      this.options.budget.release(session.heldBytes);
      session.heldBytes = 0;
      // Offloaded earlier: bring it back from disk/Redis.
      if (!session.cache) await this.restoreFromTiers(session);
    }
    session.lastUsed = Date.now();
    if (session.cache && kvConfigKey(session.kvConfig) !== kvConfigKey(kvConfig)) {
      // A new KV configuration invalidates the old bytes: start over with the new one.
      session.cache = undefined;
      session.tokens = [];
    }
    session.kvConfig = kvConfig;
    return session;
  }

  /** Returns the session after a request: its cache becomes idle and counts in the budget. */
  checkin(session: Session, cache: CompressedKVCache | undefined, tokens: number[]): void {
    session.cache = cache;
    session.tokens = cache ? tokens : [];
    session.lastUsed = Date.now();
    if (!cache) {
      session.busy = false;
      return;
    }
    const bytes = cache.byteLength();
    // Still marked busy while reserving, so the reclaim this may trigger never picks this session.
    const fits = this.options.budget.tryReserve(bytes);
    session.busy = false;
    if (fits) session.heldBytes = bytes;
    else this.offload(session);
  }

  /** Frees at least `bytesNeeded` by offloading idle sessions, least recently used first. */
  reclaim(bytesNeeded: number): number {
    const idle = [...this.sessions.values()].filter((session) => !session.busy && session.cache).sort((a, b) => a.lastUsed - b.lastUsed);
    let freed = 0;
    for (const session of idle) {
      if (freed >= bytesNeeded) break;
      freed += this.offload(session);
    }
    return freed;
  }

  /** What a client may see of its own session (undefined when it has none by that id in memory). */
  describe(keyId: string, id: string): { tokens: number; kvBytes: number; codec: string; policy: string | null; busy: boolean; resident: boolean } | undefined {
    const session = this.sessions.get(this.mapKey(keyId, id));
    if (!session) return undefined;
    return {
      tokens: session.tokens.length,
      kvBytes: session.cache?.byteLength() ?? 0,
      codec: session.kvConfig.codec,
      policy: session.kvConfig.policy,
      busy: session.busy,
      resident: session.cache !== undefined,
    };
  }

  /** Forgets a session everywhere (memory, disk, Redis). A session in use is a 409. */
  async delete(keyId: string, id: string): Promise<boolean> {
    const mapKey = this.mapKey(keyId, id);
    const session = this.sessions.get(mapKey);
    if (session?.busy) throw new ApiError(409, `session ${id} is in use by another request`, { param: "session", code: "session_busy" });
    if (session) {
      this.options.budget.release(session.heldBytes);
      this.sessions.delete(mapKey);
      this.options.onChange?.(this.sessions.size);
    }
    const storageKey = this.storageKeyFor(keyId, id);
    await this.pendingOffloads.get(storageKey);
    const stored = this.options.store ? await this.options.store.has(storageKey) : false;
    if (stored) await this.options.store!.delete(storageKey);
    return session !== undefined || stored;
  }

  /** Drops sessions idle for longer than the TTL (their stored copies expire on their own). */
  sweep(now = Date.now()): void {
    for (const [mapKey, session] of this.sessions) {
      if (!session.busy && now - session.lastUsed > this.options.ttlMs) {
        this.options.budget.release(session.heldBytes);
        this.sessions.delete(mapKey);
      }
    }
    this.options.onChange?.(this.sessions.size);
  }

  /** Writes every idle in-memory session to the lower tiers (graceful shutdown). */
  async offloadAll(): Promise<void> {
    for (const session of this.sessions.values()) if (!session.busy && session.cache) this.offload(session);
    await Promise.allSettled([...this.pendingOffloads.values()]);
  }

  private countForKey(keyId: string): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.keyId === keyId) count++;
    return count;
  }

  private evictOldestOfKey(keyId: string): void {
    let oldest: Session | undefined;
    for (const session of this.sessions.values()) {
      if (session.keyId === keyId && !session.busy && (!oldest || session.lastUsed < oldest.lastUsed)) oldest = session;
    }
    if (!oldest) throw new ApiError(429, "too many sessions in use for this API key", { code: "too_many_sessions", retryAfterSeconds: 5 });
    this.offload(oldest);
    this.sessions.delete(this.mapKey(oldest.keyId, oldest.id));
  }

  /** Moves an idle session's cache out of memory; returns the budget bytes it freed. */
  private offload(session: Session): number {
    const freed = session.heldBytes;
    if (session.cache && this.options.store) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = this.options.serializer.save(session);
      } catch (error) {
        this.options.onError?.(error);
      }
      if (bytes) {
        const write = this.options.store.offload(session.storageKey, bytes).finally(() => {
          if (this.pendingOffloads.get(session.storageKey) === write) this.pendingOffloads.delete(session.storageKey);
        });
        this.pendingOffloads.set(session.storageKey, write);
      }
    }
    session.cache = undefined;
    session.tokens = [];
    session.heldBytes = 0;
    this.options.budget.release(freed);
    return freed;
  }

  private async restoreFromTiers(session: Session): Promise<void> {
    if (!this.options.store) return;
    await this.pendingOffloads.get(session.storageKey);
    try {
      const hit = await this.options.store.get(session.storageKey, { promote: false });
      if (!hit) return;
      const loaded = this.options.serializer.load(hit.bytes);
      if (!loaded) return;
      session.cache = loaded.cache;
      session.tokens = loaded.tokens;
      session.kvConfig = loaded.kvConfig;
      // The live copy is in memory now; the stored one would only go stale.
      await this.options.store.delete(session.storageKey).catch(() => undefined);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
