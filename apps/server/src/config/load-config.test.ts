import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./load-config.js";

describe("loadConfig", () => {
  it("starts from defaults: loopback, port 8080, no keys, CORS off, turboquant", () => {
    const config = loadConfig([], {});
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(8080);
    expect(config.apiKeys).toEqual([]);
    expect(config.corsOrigins).toEqual([]);
    expect(config.kv.defaults.codec).toBe("turboquant");
    expect(config.kv.pageTokens).toBe(32);
  });

  it("applies flags over environment over file", () => {
    const file = path.join(os.tmpdir(), `kvpack-config-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ port: 1111, host: "0.0.0.0", kv: { memoryBudgetBytes: 1_000_000, defaults: { codec: "kivi" } } }));
    const config = loadConfig(["--config", file, "--port", "3333", "--api-key", "a:sk-aaaaaaaaaa", "--api-key=b:sk-bbbbbbbbbb"], {
      KVPACK_PORT: "2222",
      KVPACK_KV_BUDGET_MB: "2",
    });
    expect(config.port).toBe(3333);
    expect(config.host).toBe("0.0.0.0");
    // 2 MiB from the environment beats the file's 1,000,000 bytes.
    expect(config.kv.memoryBudgetBytes).toBe(2 * 1024 * 1024);
    expect(config.kv.defaults.codec).toBe("kivi");
    expect(config.apiKeys.map((key) => key.id)).toEqual(["a", "b"]);
  });

  it("rejects bad values with messages naming the field", () => {
    expect(() => loadConfig(["--port", "http"], {})).toThrow(ConfigError);
    expect(() => loadConfig(["--port", "70000"], {})).toThrow(/port/);
    expect(() => loadConfig(["--codec", "zip"], {})).toThrow(/kv\.defaults\.codec/);
    expect(() => loadConfig(["--api-key", "nocolon"], {})).toThrow(/id:key/);
    expect(() => loadConfig(["--api-key", "a:short"], {})).toThrow(/at least 8/);
    expect(() => loadConfig(["--api-key", "a:sk-aaaaaaaaaa", "--api-key", "a:sk-cccccccccc"], {})).toThrow(/used twice/);
    expect(() => loadConfig(["--frobnicate"], {})).toThrow(/unknown option/);
    expect(() => loadConfig(["--config", "/nonexistent/kvpack.json"], {})).toThrow(/cannot read/);
  });
});
