import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repositoryRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../..");
/** The built server; bench:server builds it when missing. */
export const serverMain = resolve(repositoryRoot, "apps/server/dist/main.js");

export interface RunningServer {
  readonly process: ChildProcess;
  readonly baseUrl: string;
}

/** Starts `node apps/server/dist/main.js` on 127.0.0.1, any free port, and waits for its "kvpack server: URL" line. */
export async function startServer(args: readonly string[], startTimeoutMs = 120_000): Promise<RunningServer> {
  const child = spawn(process.execPath, [serverMain, "--host", "127.0.0.1", "--port", "0", "--log-level", "warn", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start in ${startTimeoutMs} ms:\n${output}`));
    }, startTimeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /kvpack server: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { process: child, baseUrl };
}

/** SIGTERM, then waits for the exit (the server flushes its disk and Redis writes first). */
export async function stopServer(server: RunningServer): Promise<void> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = new Promise((resolvePromise) => server.process.once("exit", resolvePromise));
  server.process.kill("SIGTERM");
  await exited;
}
