import { createRequire } from "node:module";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

// The threaded wasm matmuls in Debian's Chromium: esbuild bundles threads-page.ts, a loopback
// node:http server serves it under /isolated/ with COOP same-origin + COEP require-corp and under
// /plain/ without them; playwright-core reads what the page found. Stopped in afterAll.
const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const missing = existsSync(executablePath) ? undefined : `no Chromium at ${executablePath} (set CHROMIUM_PATH)`;
if (missing) {
  if (process.env.CI === "true") throw new Error(missing);
  console.warn(`skipping Chromium threads test: ${missing}`);
}

interface ThreadsPageResults {
  readonly crossOriginIsolated: boolean;
  readonly threading: Array<{ threads: number; requested: number | "auto"; reason?: string; host?: string } | undefined>;
  readonly identical: Record<string, boolean>;
  readonly error?: string;
}

let workDirectory: string;
let server: Server;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  if (missing) return;
  workDirectory = mkdtempSync(join(tmpdir(), "kvpack-kernels-threads-"));
  const bundle = join(workDirectory, "page.js");
  const fromPackage = createRequire(join(packageRoot, "package.json"));
  const fromTsup = createRequire(fromPackage.resolve("tsup"));
  const esbuild = (await import(fromTsup.resolve("esbuild"))) as { build(options: Record<string, unknown>): Promise<unknown> };
  await esbuild.build({ entryPoints: [join(packageRoot, "src/browser/threads-page.ts")], bundle: true, format: "esm", target: "es2022", outfile: bundle, logLevel: "warning" });
  const script = readFileSync(bundle);
  const html = `<!doctype html><meta charset="utf-8"><title>threads</title><script type="module" src="page.js"></script>`;
  const isolation = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
  server = createServer((request, response) => {
    const [, folder, file] = /^\/(isolated|plain)\/(.*)$/.exec(request.url ?? "") ?? [];
    const headers = folder === "isolated" ? isolation : {};
    if (file === "page.js") response.writeHead(200, { "content-type": "text/javascript", ...headers }).end(script);
    else if (file === "") response.writeHead(200, { "content-type": "text/html", ...headers }).end(html);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (workDirectory) rmSync(workDirectory, { recursive: true, force: true });
});

async function open(folder: "isolated" | "plain"): Promise<{ results: ThreadsPageResults; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${origin}/${folder}/`);
  await page.waitForFunction(() => (window as unknown as { threadsResults?: unknown }).threadsResults !== undefined, undefined, { timeout: 60_000 });
  const results = (await page.evaluate(() => (window as unknown as { threadsResults: unknown }).threadsResults)) as ThreadsPageResults;
  await page.close();
  return { results, errors };
}

describe.skipIf(missing !== undefined)("wasm threads in Chromium", () => {
  test("a cross-origin-isolated page runs the matmuls on 3 threads (2 Web Workers), bit-identical to one thread", async () => {
    const { results, errors } = await open("isolated");
    expect(results.error, results.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(results.crossOriginIsolated).toBe(true);
    expect(results.threading).toEqual([
      { threads: 1, requested: 1, reason: "1 thread requested" },
      { threads: 3, requested: 3, host: "web-workers" },
      { threads: 3, requested: 3, host: "web-workers" },
    ]);
    expect(Object.keys(results.identical)).toHaveLength(6);
    expect(Object.values(results.identical).every(Boolean), JSON.stringify(results.identical)).toBe(true);
  }, 90_000);

  test("a page without COOP/COEP falls back to one thread, says why, and computes the same bits", async () => {
    const { results, errors } = await open("plain");
    expect(results.error, results.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(results.crossOriginIsolated).toBe(false);
    for (const threading of results.threading.slice(1)) {
      expect(threading?.threads).toBe(1);
      expect(threading?.reason).toMatch(/not cross-origin isolated/);
    }
    expect(Object.values(results.identical).every(Boolean)).toBe(true);
  }, 90_000);
});
