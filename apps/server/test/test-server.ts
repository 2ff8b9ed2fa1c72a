import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, type KvpackServer } from "../src/app.js";
import { parseServerConfig } from "../src/config/load-config.js";
import type { ServerConfigInput } from "../src/config/server-config.js";
import { loadServedModel, type ServedModel } from "../src/model/load-served-model.js";

export const appDirectory = fileURLToPath(new URL("..", import.meta.url));
export const modelsDataDirectory = process.env.KVPACK_MODELS_DATA ?? path.resolve(appDirectory, "../../../shared/models-data");

export interface ModelReference {
  prompt: string;
  greedy_text: string;
  greedy_token_ids: number[];
  prompt_token_ids: number[];
  /** float64 reference logits after the prompt's last token (vocabulary order). */
  last_position_logits_for_prompt: number[];
}

export function readReference(): ModelReference {
  return JSON.parse(readFileSync(path.join(modelsDataDirectory, "stories260K.reference.json"), "utf8")) as ModelReference;
}

let sharedModel: Promise<ServedModel> | undefined;

/** The embedded stories260K, loaded once per test file. */
export function defaultModel(): Promise<ServedModel> {
  sharedModel ??= loadServedModel({ format: "auto" });
  return sharedModel;
}

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `kvpack-server-${prefix}-`));
}

export interface TestServer {
  readonly server: KvpackServer;
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** A real server on 127.0.0.1, any free port, quiet logs, its own disk tier folder. */
export async function startTestServer(overrides: ServerConfigInput = {}): Promise<TestServer> {
  const ownDisk = overrides.kv?.diskDirectory === undefined ? temporaryDirectory("disk") : undefined;
  const config = parseServerConfig({
    host: "127.0.0.1",
    port: 0,
    logLevel: "silent",
    ...overrides,
    kv: { diskDirectory: ownDisk, ...overrides.kv },
  });
  const server = await createServer(config, { model: await defaultModel() });
  const baseUrl = await server.listen();
  return {
    server,
    baseUrl,
    close: async () => {
      await server.close();
      if (ownDisk) rmSync(ownDisk, { recursive: true, force: true });
    },
  };
}

function newestModification(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestModification(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Tests that spawn `node dist/main.js` build it first when the sources are newer. */
export function ensureBuilt(): string {
  const main = path.join(appDirectory, "dist", "main.js");
  if (!existsSync(main) || statSync(main).mtimeMs < newestModification(path.join(appDirectory, "src"))) {
    execFileSync(path.join(appDirectory, "node_modules", ".bin", "tsup"), [], { cwd: appDirectory, stdio: "ignore" });
  }
  return main;
}

export async function postJson(baseUrl: string, route: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(`${baseUrl}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}
