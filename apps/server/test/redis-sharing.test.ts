import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { RedisPageStore } from "@kvpack/cache/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startChildServer, type ChildServer } from "./child-server.js";
import { postJson } from "./test-server.js";

const redisBinary = "/usr/bin/redis-server";
const canRun = Boolean(process.env.REDIS_URL) || existsSync(redisBinary);

async function waitForRedis(port: number): Promise<void> {
  const store = await RedisPageStore.open(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 200 });
  try {
    await store.ready(5000);
  } catch {
    throw new Error(`redis-server on port ${port} did not answer`);
  } finally {
    await store.close();
  }
}

describe.skipIf(!canRun)("two server processes share prefix pages through Redis", () => {
  let redisProcess: ChildProcess | undefined;
  let redisUrl: string;
  const servers: ChildServer[] = [];

  beforeAll(async () => {
    if (process.env.REDIS_URL) {
      redisUrl = process.env.REDIS_URL;
    } else {
      const port = await freePort();
      redisProcess = spawn(redisBinary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
      await waitForRedis(port);
      redisUrl = `redis://127.0.0.1:${port}`;
    }
    // No disk tier: a page found by the second process can only have come through Redis.
    const common = ["--redis-url", redisUrl, "--no-disk", "--api-key", "alpha:sk-alpha-000000000", "--api-key", "beta:sk-beta-0000000000"];
    servers.push(await startChildServer(common));
    servers.push(await startChildServer(common));
  }, 60_000);

  afterAll(async () => {
    for (const server of servers) await server.stop();
    if (redisProcess?.pid !== undefined) {
      process.kill(redisProcess.pid);
      await new Promise((resolve) => redisProcess!.once("exit", resolve));
    }
  });

  it("a prompt computed by process A is reused by process B, for the same key only", async () => {
    // A run-unique prompt so pages left in a shared CI Redis by earlier runs cannot hit.
    const prompt = `Once upon a time, there was a little girl named Lily ${Date.now()}. She loved to play outside in the park with her big red ball.`;
    const body = { model: "stories260K", prompt, max_tokens: 12, temperature: 0, kvpack: { codec: "turboquant", keyBits: 4, valueBits: 4 } };
    const alpha = { authorization: "Bearer sk-alpha-000000000" };
    const first = await postJson(servers[0].baseUrl, "/v1/completions", body, alpha);
    expect(first.status).toBe(200);
    expect(first.json.kvpack.reused_tokens).toBe(0);
    // Redis writes are write-behind; poll B briefly until the pages are there.
    let second = await postJson(servers[1].baseUrl, "/v1/completions", body, alpha);
    for (let attempt = 0; attempt < 20 && second.json.kvpack.prefix_source !== "redis"; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      second = await postJson(servers[1].baseUrl, "/v1/completions", body, alpha);
    }
    expect(second.json.kvpack.prefix_source).toBe("redis");
    expect(second.json.kvpack.reused_tokens).toBeGreaterThanOrEqual(32);
    expect(second.json.choices[0].text).toBe(first.json.choices[0].text);
    const otherKey = await postJson(servers[1].baseUrl, "/v1/completions", body, { authorization: "Bearer sk-beta-0000000000" });
    expect(otherKey.json.kvpack.reused_tokens).toBe(0);
  });

  it("a session written to Redis when process A shuts down continues on process B", async () => {
    const alpha = { authorization: "Bearer sk-alpha-000000000" };
    const session = `handover-${Date.now()}`;
    const first = await postJson(servers[0].baseUrl, "/v1/completions", { model: "stories260K", prompt: "Kim had a blue car.", max_tokens: 20, temperature: 0, kvpack: { codec: "kivi", session } }, alpha);
    expect(first.status).toBe(200);
    expect(await servers[0].stop()).toBe(0);
    const next = await postJson(
      servers[1].baseUrl,
      "/v1/completions",
      { model: "stories260K", prompt: `Kim had a blue car.${first.json.choices[0].text} Then`, max_tokens: 8, temperature: 0, kvpack: { codec: "kivi", session } },
      alpha,
    );
    expect(next.status).toBe(200);
    expect(next.json.kvpack.prefix_source).toBe("session");
    expect(next.json.kvpack.reused_tokens).toBeGreaterThan(20);
  });
});
