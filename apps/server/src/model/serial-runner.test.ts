import { describe, expect, it } from "vitest";
import { SerialRunner } from "./serial-runner.js";

describe("SerialRunner", () => {
  it("runs tasks one at a time in call order, each after a fresh event-loop turn, and a failing task does not block the next", async () => {
    const runner = new SerialRunner();
    const events: string[] = [];
    const task = (name: string, fail = false) => async () => {
      events.push(`${name} start`);
      await Promise.resolve();
      await Promise.resolve();
      events.push(`${name} end`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    // An I/O-like callback queued before the tasks: it must run before the first task starts.
    setImmediate(() => events.push("io"));
    const results = await Promise.allSettled([runner.run(task("a")), runner.run(task("b", true)), runner.run(task("c"))]);
    expect(events).toEqual(["io", "a start", "a end", "b start", "b end", "c start", "c end"]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[2] as PromiseFulfilledResult<string>).value).toBe("c");
  });
});
