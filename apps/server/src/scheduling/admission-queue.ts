import { ApiError } from "../http/api-error.js";
import type { KvMemoryBudget } from "./kv-memory-budget.js";

export interface AdmissionTicket {
  /** KV bytes reserved for this request. */
  readonly reservedBytes: number;
  /** Gives back the slot and the reservation; safe to call twice. */
  release(): void;
}

interface Waiter {
  bytes: number;
  resolve: (ticket: AdmissionTicket) => void;
  reject: (error: ApiError) => void;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

export interface AdmissionQueueOptions {
  maxConcurrent: number;
  queueSize: number;
  queueTimeoutMs: number;
  budget: KvMemoryBudget;
  onDepthChange?: (depth: number, active: number) => void;
  onReject?: (reason: "queue_full" | "queue_timeout" | "kv_budget") => void;
}

/**
 * Admits a generation when a decode slot is free and its KV reservation fits the budget.
 * Others wait in FIFO order up to `queueSize`; past that, or after `queueTimeoutMs`, they get a
 * 429 with Retry-After.
 */
export class AdmissionQueue {
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;
  private draining = false;

  constructor(private readonly options: AdmissionQueueOptions) {
    options.budget.setReleaseListener(() => this.drain());
  }

  get depth(): number {
    return this.waiters.length;
  }

  get activeCount(): number {
    return this.active;
  }

  acquire(bytes: number, signal?: AbortSignal): Promise<AdmissionTicket> {
    const { budget } = this.options;
    if (this.closed) return Promise.reject(new ApiError(503, "the server is shutting down", { code: "shutting_down", retryAfterSeconds: 5 }));
    if (bytes > budget.limitBytes) {
      this.options.onReject?.("kv_budget");
      return Promise.reject(
        new ApiError(429, `this request needs ${bytes} KV bytes, more than the server's whole KV budget (${budget.limitBytes}); lower max_tokens or use a smaller codec rate or a policy budget`, {
          code: "kv_budget_exceeded",
          retryAfterSeconds: 60,
        }),
      );
    }
    if (this.waiters.length === 0 && this.tryAdmit(bytes)) return Promise.resolve(this.ticket(bytes));
    if (this.waiters.length >= this.options.queueSize) {
      this.options.onReject?.("queue_full");
      return Promise.reject(new ApiError(429, "the server is at capacity and its queue is full; retry later", { code: "queue_full", retryAfterSeconds: this.retryAfterEstimate() }));
    }
    return new Promise<AdmissionTicket>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(waiter);
          this.options.onReject?.("queue_timeout");
          reject(new ApiError(429, `waited ${this.options.queueTimeoutMs} ms for capacity; retry later`, { code: "queue_timeout", retryAfterSeconds: this.retryAfterEstimate() }));
        }, this.options.queueTimeoutMs),
        cleanup: () => undefined,
      };
      if (signal) {
        const onAbort = (): void => {
          this.remove(waiter);
          reject(new ApiError(499, "the client closed the request", { code: "client_closed" }));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.waiters.push(waiter);
      this.notify();
    });
  }

  /** Refuses new and waiting requests (shutdown). Running ones keep their tickets. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.cleanup();
      waiter.reject(new ApiError(503, "the server is shutting down", { code: "shutting_down", retryAfterSeconds: 5 }));
    }
    this.notify();
  }

  private tryAdmit(bytes: number): boolean {
    if (this.active >= this.options.maxConcurrent) return false;
    if (!this.options.budget.tryReserve(bytes)) return false;
    this.active++;
    this.notify();
    return true;
  }

  private ticket(bytes: number): AdmissionTicket {
    let released = false;
    return {
      reservedBytes: bytes,
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.options.budget.release(bytes); // its listener drains the queue
        this.drain();
      },
    };
  }

  /** Admits waiters in order; the head blocks the rest so large requests are not starved. */
  drain(): void {
    // Reclaiming inside tryAdmit releases memory, which calls drain again: do not nest.
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.waiters.length > 0 && this.tryAdmit(this.waiters[0].bytes)) {
        const waiter = this.waiters.shift()!;
        clearTimeout(waiter.timer);
        waiter.cleanup();
        waiter.resolve(this.ticket(waiter.bytes));
      }
    } finally {
      this.draining = false;
    }
    this.notify();
  }

  private remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.cleanup();
    this.notify();
  }

  private retryAfterEstimate(): number {
    return Math.max(1, Math.ceil(this.options.queueTimeoutMs / 1000 / 2));
  }

  private notify(): void {
    this.options.onDepthChange?.(this.waiters.length, this.active);
  }
}
