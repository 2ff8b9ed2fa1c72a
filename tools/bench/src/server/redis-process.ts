import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunningRedis {
  readonly url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolvePromise(port));
    });
  });
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolvePromise(data.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolvePromise(false));
  });
}

/**
 * A private redis-server (REDIS_SERVER or `redis-server` on PATH) on a free loopback port, no
 * persistence, its own scratch folder; stop() kills exactly that process by its pid.
 */
export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), "kvpack-bench-redis-"));
  const child: ChildProcess = spawn(process.env.REDIS_SERVER ?? "redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", directory], { stdio: "ignore" });
  const failed = new Promise<never>((_, reject) => child.once("error", (error) => reject(new Error(`cannot start redis-server: ${error.message}`))));
  const ready = (async () => {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (await answersPing(port)) return;
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
    }
    throw new Error(`redis-server did not answer PING on port ${port}`);
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (error) {
    if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        const exited = new Promise((resolvePromise) => child.once("exit", resolvePromise));
        process.kill(child.pid, "SIGTERM");
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
