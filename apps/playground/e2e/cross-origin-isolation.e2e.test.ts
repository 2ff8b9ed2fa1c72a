import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPreviewServer, type PreviewServer } from "./preview-server.js";

// The preview server (and the dev server, same config) must send COOP/COEP, or browsers withhold
// SharedArrayBuffer and multi-threaded kernels fall back to one thread.
describe("vite preview sends cross-origin isolation headers", () => {
  let server: PreviewServer;
  beforeAll(async () => {
    server = await startPreviewServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  it("COOP same-origin and COEP require-corp on the page", async () => {
    const response = await fetch(server.url);
    expect(response.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(response.headers.get("cross-origin-embedder-policy")).toBe("require-corp");
  });
});
