import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { ensureBuilt } from "./test-server.js";

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface ChildServer {
  readonly process: ChildProcess;
  readonly baseUrl: string;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node dist/main.js` with `args` and waits for the line with its URL. */
export async function startChildServer(args: string[], timeoutMs = 20_000): Promise<ChildServer> {
  const main = ensureBuilt();
  const child = spawn(process.execPath, [main, "--host", "127.0.0.1", "--port", "0", "--log-level", "warn", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = (): void => {
      const match = /kvpack server: (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return {
    process: child,
    baseUrl,
    output: () => output,
    stop: async (signal = "SIGTERM") => {
      // A process already signalled is only awaited (a second SIGTERM means "exit now" to main.ts).
      if (child.exitCode === null && child.signalCode === null && (!child.killed || signal === "SIGKILL")) child.kill(signal);
      return exited;
    },
  };
}
