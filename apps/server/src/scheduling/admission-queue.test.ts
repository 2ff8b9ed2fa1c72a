import { describe, expect, it } from "vitest";
import { ApiError } from "../http/api-error.js";
import { AdmissionQueue } from "./admission-queue.js";
import { KvMemoryBudget } from "./kv-memory-budget.js";

describe("AdmissionQueue", () => {
  it("admits within slots and budget, queues FIFO, and refuses with 429 when full", async () => {
    const budget = new KvMemoryBudget(1000);
    const queue = new AdmissionQueue({ maxConcurrent: 2, queueSize: 1, queueTimeoutMs: 1000, budget });
    const first = await queue.acquire(600);
    const waiting = queue.acquire(600); // does not fit next to the first: waits
    expect(queue.depth).toBe(1);
    await expect(queue.acquire(10)).rejects.toMatchObject({ status: 429, code: "queue_full" });
    first.release();
    const second = await waiting;
    expect(budget.used).toBe(600);
    second.release();
    second.release(); // idempotent
    expect(budget.used).toBe(0);
  });

  it("times out waiters with 429 and Retry-After, and refuses what can never fit", async () => {
    const budget = new KvMemoryBudget(100);
    const queue = new AdmissionQueue({ maxConcurrent: 1, queueSize: 4, queueTimeoutMs: 50, budget });
    const held = await queue.acquire(10);
    const error = await queue.acquire(10).catch((caught: unknown) => caught);
    expect(ApiError.isInstance(error) && error.code).toBe("queue_timeout");
    expect(ApiError.isInstance(error) && error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await expect(queue.acquire(101)).rejects.toMatchObject({ status: 429, code: "kv_budget_exceeded" });
    held.release();
  });

  it("asks the budget's reclaimer for memory before making a request wait", async () => {
    const budget = new KvMemoryBudget(100);
    budget.tryReserve(80); // an idle session
    budget.setReclaimer((needed) => {
      budget.release(80);
      return Math.max(needed, 80);
    });
    const queue = new AdmissionQueue({ maxConcurrent: 4, queueSize: 0, queueTimeoutMs: 50, budget });
    const ticket = await queue.acquire(50);
    expect(budget.used).toBe(50);
    ticket.release();
  });
});
