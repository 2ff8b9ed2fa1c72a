import { describe, expect, test } from "vitest";
import type { KernelBackend } from "./kernel-backend.js";
import { BackendUnavailableError } from "./kernel-errors.js";
import { resolveBackend } from "./resolve-backend.js";
import { createTypeScriptBackend } from "./ts/typescript-backend.js";

function failing(name: "webgpu" | "wasm", reason: string): KernelBackend {
  return { ...createTypeScriptBackend(), name, priority: 9, init: async () => Promise.reject(new Error(reason)) };
}

describe("resolveBackend", () => {
  test("returns the first backend whose init succeeds, in the given order", async () => {
    const backend = await resolveBackend([failing("webgpu", "no adapter"), "ts"]);
    expect(backend.name).toBe("ts");
  });

  test("auto in Node without navigator.gpu falls back from webgpu to wasm", async () => {
    const backend = await resolveBackend("auto");
    expect(backend.name).toBe("wasm");
  });

  test("options.wasm reaches the wasm backend it creates by name", async () => {
    const backend = await resolveBackend(["wasm"], { wasm: { threads: 1 } });
    expect(backend.threading).toEqual({ threads: 1, requested: 1, reason: "1 thread requested" });
    backend.dispose();
  });

  test("one error lists every failure when none works", async () => {
    const error = await resolveBackend([failing("webgpu", "no adapter"), failing("wasm", "no WebAssembly")]).catch((caught: unknown) => caught);
    expect(BackendUnavailableError.isInstance(error)).toBe(true);
    const failures = (error as BackendUnavailableError).failures;
    expect(failures).toEqual([
      { name: "webgpu", reason: "no adapter" },
      { name: "wasm", reason: "no WebAssembly" },
    ]);
    expect((error as Error).message).toMatch(/webgpu: no adapter[\s\S]*wasm: no WebAssembly/);
  });

  test("importing the package registers nothing: each factory returns a fresh uninitialised backend", async () => {
    const module = await import("./index.js");
    expect(Object.keys(module)).not.toContain("default");
    const backend = module.createWasmBackend();
    await expect(backend.kernels.matmul({ matrix: new Float32Array(1), vector: new Float32Array(1), rows: 1, columns: 1 })).rejects.toThrow(/before init/);
  });
});
