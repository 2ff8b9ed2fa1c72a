import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startChildServer } from "./child-server.js";
import { postJson, temporaryDirectory } from "./test-server.js";

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(directory, entry.name)) : [entry.name],
  );
}

describe("graceful shutdown", () => {
  it("on SIGTERM finishes the running stream, writes idle sessions to disk and exits 0", async () => {
    const diskDirectory = temporaryDirectory("shutdown");
    const server = await startChildServer(["--disk-dir", diskDirectory]);
    try {
      const sessionReply = await postJson(server.baseUrl, "/v1/completions", { model: "stories260K", prompt: "Ben had a hat.", max_tokens: 10, kvpack: { codec: "fp32", session: "kept" } });
      expect(sessionReply.status).toBe(200);
      const response = await fetch(`${server.baseUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 300, temperature: 0, stream: true, kvpack: { codec: "fp32" } }),
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      let signalled = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (!signalled && text.includes("data: ")) {
          signalled = true;
          server.process.kill("SIGTERM");
        }
      }
      expect(signalled).toBe(true);
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      const events = text.split("\n\n").filter((event) => event.startsWith("data: {"));
      const last = JSON.parse(events[events.length - 1].slice(6)) as { choices: { finish_reason: string | null }[] };
      expect(last.choices[0].finish_reason).toBe("length");
      expect(await server.stop(), server.output()).toBe(0);
      expect(filesUnder(diskDirectory).some((name) => name.startsWith("session-"))).toBe(true);
    } finally {
      await server.stop("SIGKILL");
    }
  });
});
