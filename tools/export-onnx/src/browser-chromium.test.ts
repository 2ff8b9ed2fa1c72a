import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadLlama2cCheckpoint } from "@kvpack/adapters";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";
import { maxAbsDifference, readModelReference, readModelsData, type ModelReference } from "./test-support/models-data.js";

// The adapter in a real browser: headless Chromium (Debian's, SwiftShader, no GPU needed) loads
// @kvpack/adapters and @kvpack/cache from their built dist/ and onnxruntime-web's wasm build
// through an import map, with no bundler, and runs the exported stories260K.
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const packagesDirectory = fileURLToPath(new URL("../../../packages/", import.meta.url));
const ortDirectory = fileURLToPath(new URL("../node_modules/onnxruntime-web/dist/", import.meta.url));
// @kvpack/adapters' third-party runtime dependencies the browser must resolve (chat templates,
// tokenizer.json); each ships one self-contained ES module.
const adaptersModules = path.join(packagesDirectory, "adapters/node_modules/@huggingface/");
const libraryFiles: Record<string, string> = {
  "/huggingface/jinja.js": path.join(adaptersModules, "jinja/dist/index.js"),
  "/huggingface/tokenizers.js": path.join(adaptersModules, "tokenizers/dist/tokenizers.mjs"),
};

const page = `<!doctype html>
<script type="importmap">${JSON.stringify({
  imports: {
    "onnxruntime-web": "/ort/ort.wasm.min.mjs",
    "@huggingface/jinja": "/huggingface/jinja.js",
    "@huggingface/tokenizers": "/huggingface/tokenizers.js",
    ...Object.fromEntries(readdirSync(packagesDirectory).map((name) => [`@kvpack/${name}`, `/kvpack/${name}/dist/index.js`])),
  },
})}</script>
<script type="module">
  import * as ort from "onnxruntime-web";
  import { createOnnxDecoder } from "@kvpack/adapters";
  import { DenseKVCache } from "@kvpack/cache";
  // One thread: SharedArrayBuffer needs cross-origin isolation, which this test server does not set up.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = "/ort/";
  window.runDecoder = async (prompt, totalLength) => {
    const model = new Uint8Array(await (await fetch("/model.onnx")).arrayBuffer());
    const decoder = await createOnnxDecoder({ ort, model, sessionOptions: { executionProviders: ["wasm"] } });
    const newCache = () => new DenseKVCache({ layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim, capacity: 512 });
    const prefill = await decoder.forward(prompt, newCache());
    const ids = await decoder.generateGreedy(prompt, totalLength, newCache(), { stopTokenIds: [1] });
    await decoder.release();
    return { lastLogits: Array.from(prefill.subarray(prefill.length - 512)), ids };
  };
  window.decoderReady = true;
</script>`;

const contentTypes: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".map": "application/json" };

/** Serves the page, the model, onnxruntime-web's dist, @huggingface/jinja, @huggingface/tokenizers and each kvpack package's dist; nothing else. */
function serve(model: Uint8Array): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    let file: string | undefined;
    if (url.pathname === "/") {
      response.writeHead(200, { "content-type": "text/html" }).end(page);
      return;
    }
    if (url.pathname === "/model.onnx") {
      response.writeHead(200, { "content-type": "application/octet-stream" }).end(model);
      return;
    }
    const ortMatch = /^\/ort\/([\w.-]+)$/.exec(url.pathname);
    const packageMatch = /^\/kvpack\/([\w-]+)\/dist\/([\w./-]+)$/.exec(url.pathname);
    if (libraryFiles[url.pathname]) file = libraryFiles[url.pathname];
    else if (ortMatch) file = path.join(ortDirectory, ortMatch[1]);
    else if (packageMatch && !packageMatch[2].includes("..")) file = path.join(packagesDirectory, packageMatch[1], "dist", packageMatch[2]);
    if (!file || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": contentTypes[path.extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe.skipIf(!existsSync(chromiumPath))("the exported stories260K through onnxruntime-web in headless Chromium", () => {
  let reference: ModelReference;
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    reference = readModelReference("stories260K.reference.json");
    server = await serve(exportLlamaDecoderOnnx(loadLlama2cCheckpoint(readModelsData("stories260K.bin"))));
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("matches the reference logits and greedy ids", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const errors: string[] = [];
    // A module that fails to load is a page error, not a hang: it ends the wait at once.
    const firstPageError = new Promise<never>((_, reject) => {
      tab.on("pageerror", (error) => {
        errors.push(error.message);
        reject(new Error(`decoder page failed: ${error.message}`));
      });
    });
    firstPageError.catch(() => undefined);
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // Compiling ORT's WASM in a loaded CI box can take a while.
    const ready = tab
      .waitForFunction(() => (globalThis as unknown as { decoderReady?: boolean }).decoderReady === true, undefined, { timeout: 120_000 })
      .catch((error: unknown) => {
        throw new Error(`decoder page not ready: ${String(error)}; page errors: ${errors.join(" | ") || "none"}`);
      });
    await Promise.race([ready, firstPageError]);
    const result = await tab.evaluate(
      ([prompt, totalLength]) =>
        (globalThis as unknown as { runDecoder(prompt: number[], totalLength: number): Promise<{ lastLogits: number[]; ids: number[] }> }).runDecoder(prompt, totalLength),
      [reference.prompt_token_ids, reference.steps + 1] as [number[], number],
    );
    expect(errors).toEqual([]);
    // Reference JSON: independent float64 run.c, 5 decimals; same 1e-4 as onnxruntime-node.
    expect(maxAbsDifference(result.lastLogits, reference.last_position_logits_for_prompt)).toBeLessThan(1e-4);
    expect(result.ids).toEqual(reference.greedy_token_ids);
    await context.close();
  });
});
