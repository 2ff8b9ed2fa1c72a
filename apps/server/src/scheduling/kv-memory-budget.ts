/**
 * The global budget for resident KV bytes. Live requests reserve their worst case up front;
 * idle sessions and in-memory prefix pages hold their actual size. When a reservation does not
 * fit, `reclaim` is asked to free memory (offload idle sessions, drop prefix pages that are
 * also on disk/Redis) before the caller is told to wait.
 */
export class KvMemoryBudget {
  readonly limitBytes: number;
  private usedBytes = 0;
  private reclaimer: ((bytesNeeded: number) => number) | undefined;
  private releaseListener: (() => void) | undefined;

  constructor(limitBytes: number) {
    if (!(limitBytes > 0)) throw new RangeError(`KvMemoryBudget: the limit must be positive, got ${limitBytes}`);
    this.limitBytes = limitBytes;
  }

  /** `reclaim(bytesNeeded)` frees memory through `release` and returns how many bytes it freed. */
  setReclaimer(reclaim: (bytesNeeded: number) => number): void {
    this.reclaimer = reclaim;
  }

  /** Called after every release (the admission queue re-checks its waiters). */
  setReleaseListener(listener: () => void): void {
    this.releaseListener = listener;
  }

  get used(): number {
    return this.usedBytes;
  }

  get available(): number {
    return this.limitBytes - this.usedBytes;
  }

  /** Reserves `bytes` if they fit, reclaiming when needed; false leaves nothing reserved. */
  tryReserve(bytes: number, options: { reclaim?: boolean } = {}): boolean {
    if (!(bytes >= 0)) throw new RangeError(`KvMemoryBudget.tryReserve: bytes must be ≥ 0, got ${bytes}`);
    if (this.usedBytes + bytes > this.limitBytes && options.reclaim !== false && this.reclaimer) {
      this.reclaimer(this.usedBytes + bytes - this.limitBytes);
    }
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
    this.releaseListener?.();
  }
}
