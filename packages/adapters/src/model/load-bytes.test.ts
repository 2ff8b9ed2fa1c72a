import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadProgress, loadBytes } from "./load-bytes.js";
import { ModelFormatError } from "./model-format-error.js";
import { modelsDataDirectory, readModelsData } from "./test-models-data.js";

const expected = readModelsData("tok512.bin");
let baseUrl = "";
const server = createServer((request, response) => {
  if (request.url === "/tok512.bin") {
    response.writeHead(200, { "content-length": String(expected.byteLength) });
    // Two chunks, so progress is reported more than once.
    response.write(expected.subarray(0, 3000));
    setTimeout(() => response.end(expected.subarray(3000)), 5);
  } else if (request.url === "/short.bin") {
    response.writeHead(200, { "content-length": String(expected.byteLength + 10) });
    // Close the connection early: fewer bytes than the Content-Length promised.
    response.write(expected, () => response.destroy());
  } else {
    response.writeHead(404);
    response.end();
  }
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("loadBytes", () => {
  it("reads a path, a file URL and in-memory bytes identically", async () => {
    const file = path.join(modelsDataDirectory, "tok512.bin");
    expect(await loadBytes(file)).toEqual(expected);
    expect(await loadBytes(pathToFileURL(file))).toEqual(expected);
    expect(await loadBytes(expected.slice().buffer)).toEqual(expected);
  });

  it("streams an http URL with progress up to the Content-Length", async () => {
    const progress: LoadProgress[] = [];
    const bytes = await loadBytes(`${baseUrl}/tok512.bin`, { onProgress: (step) => progress.push(step) });
    expect(bytes).toEqual(expected);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[progress.length - 1]).toEqual({ loadedBytes: expected.byteLength, totalBytes: expected.byteLength });
  });

  it("names the problem for a 404, a short download and a missing file", async () => {
    await expect(loadBytes(`${baseUrl}/missing.bin`)).rejects.toThrowError(/HTTP 404/);
    await expect(loadBytes(`${baseUrl}/short.bin`)).rejects.toThrowError(/download of .*short.bin truncated: .*of 6237 \(Content-Length\)/);
    const missing = await loadBytes("/nonexistent/model.bin").catch((error: unknown) => error);
    expect(ModelFormatError.isInstance(missing)).toBe(true);
    expect((missing as Error).message).toMatch(/cannot read model file \/nonexistent\/model.bin/);
  });
});
