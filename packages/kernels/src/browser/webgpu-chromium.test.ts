import { createRequire } from "node:module";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { conformanceCases } from "../conformance/conformance-cases.js";

// The same conformance suite in Debian's Chromium with SwiftShader WebGPU: esbuild bundles
// conformance-page.ts, a loopback node:http server serves it, playwright-core drives the browser.
// Everything started here is stopped in afterAll.
const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// No browser: skipped with the reason logged, except in CI or with KVPACK_REQUIRE_WEBGPU=1.
const missing = existsSync(executablePath) ? undefined : `no Chromium at ${executablePath} (set CHROMIUM_PATH)`;
if (missing) {
  if (process.env.CI === "true" || process.env.KVPACK_REQUIRE_WEBGPU === "1") throw new Error(missing);
  console.warn(`skipping Chromium conformance: ${missing}`);
}

let workDirectory: string;
let server: Server;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  if (missing) return;
  workDirectory = mkdtempSync(join(tmpdir(), "kvpack-kernels-chromium-"));
  const bundle = join(workDirectory, "page.js");
  // esbuild comes with tsup (a dev dependency): resolve it from there.
  const fromPackage = createRequire(join(packageRoot, "package.json"));
  const fromTsup = createRequire(fromPackage.resolve("tsup"));
  const esbuild = (await import(fromTsup.resolve("esbuild"))) as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  await esbuild.build({
    entryPoints: [join(packageRoot, "src/browser/conformance-page.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    outfile: bundle,
    logLevel: "warning",
  });
  const script = readFileSync(bundle);
  const html = `<!doctype html><meta charset="utf-8"><title>kernels</title><script type="module" src="/page.js"></script>`;
  server = createServer((request, response) => {
    if (request.url === "/page.js") response.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else if (request.url === "/") response.writeHead(200, { "content-type": "text/html" }).end(html);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (workDirectory) rmSync(workDirectory, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)("conformance in Chromium (SwiftShader WebGPU)", () => {
  test("every case passes on webgpu and wasm in the browser", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { kernelResults?: unknown }).kernelResults !== undefined, undefined, { timeout: 60_000 });
    const results = await page.evaluate(() => (window as unknown as { kernelResults: unknown }).kernelResults) as {
      adapter: string;
      outcomes: Array<{ backend: string; name: string; passed: boolean; detail: string; worstExcess: number }>;
      error?: string;
    };
    await page.close();
    console.log(`Chromium WebGPU adapter: ${results.adapter}`);
    expect(results.error, results.error).toBeUndefined();
    expect(errors).toEqual([]);
    const failed = results.outcomes.filter((outcome) => !outcome.passed);
    expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
    expect(results.outcomes.filter((outcome) => outcome.backend === "webgpu")).toHaveLength(conformanceCases.length);
    expect(results.outcomes.filter((outcome) => outcome.backend === "wasm")).toHaveLength(conformanceCases.length);
  }, 90_000);
});
