import { type IncomingMessage, request as httpRequest } from "node:http";

/** What one streamed completion took, as the client saw it, with the server's kvpack report. */
export interface TimedCompletion {
  readonly status: number;
  /** Request sent → first chunk with text (ms). */
  readonly timeToFirstTokenMs: number;
  /** performance.now() of the first and the last text chunk. */
  readonly firstTokenAt: number;
  readonly lastTokenAt: number;
  readonly text: string;
  readonly completionTokens: number;
  readonly promptTokens: number;
  readonly reusedTokens: number;
  readonly prefixSource: string | null;
  readonly kvBytes: number;
  /** The error body when status is not 200. */
  readonly error?: string;
}

export interface CompletionRequest {
  readonly model: string;
  readonly prompt: readonly number[];
  readonly maxTokens: number;
  readonly kvpack: Record<string, unknown>;
  readonly signal?: AbortSignal;
}

/**
 * POST `body` to `url` with node:http and yields the response body's chunks. Not fetch: its
 * headers timeout (300 s in Node 20's undici) would cut off a cold 2,048-token prefill on a slow
 * machine, since the server sends a stream's headers with its first token.
 */
async function* postStream(url: string, body: string, signal: AbortSignal | undefined, onStatus: (status: number) => void): AsyncGenerator<Buffer> {
  const response = await new Promise<IncomingMessage>((resolvePromise, reject) => {
    const request = httpRequest(url, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, signal }, resolvePromise);
    request.once("error", reject);
    request.end(body);
  });
  onStatus(response.statusCode ?? 0);
  for await (const chunk of response) yield chunk as Buffer;
}

/** One streaming greedy completion of a token-id prompt; parses the SSE stream, usage and the kvpack report. */
export async function timedCompletion(baseUrl: string, request: CompletionRequest): Promise<TimedCompletion> {
  const started = performance.now();
  const body = JSON.stringify({ model: request.model, prompt: request.prompt, max_tokens: request.maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true }, kvpack: request.kvpack });
  let result = { status: 0, timeToFirstTokenMs: 0, firstTokenAt: 0, lastTokenAt: 0, text: "", completionTokens: 0, promptTokens: 0, reusedTokens: 0, prefixSource: null as string | null, kvBytes: 0 };
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunkBytes of postStream(`${baseUrl}/v1/completions`, body, request.signal, (status) => (result = { ...result, status }))) {
    buffer += decoder.decode(chunkBytes, { stream: true });
    if (result.status !== 200) continue;
    let boundary = buffer.indexOf("\n\n");
    while (boundary >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf("\n\n");
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const chunk = JSON.parse(event.slice(6)) as {
        choices: { text: string }[];
        usage?: { completion_tokens: number; prompt_tokens: number };
        kvpack?: { kv_bytes: number; reused_tokens: number; prefix_source: string | null };
      };
      const text = chunk.choices[0]?.text;
      if (text) {
        const now = performance.now();
        if (result.firstTokenAt === 0) result = { ...result, firstTokenAt: now, timeToFirstTokenMs: now - started };
        result = { ...result, lastTokenAt: now, text: result.text + text };
      }
      if (chunk.usage) result = { ...result, completionTokens: chunk.usage.completion_tokens, promptTokens: chunk.usage.prompt_tokens };
      if (chunk.kvpack) result = { ...result, kvBytes: chunk.kvpack.kv_bytes, reusedTokens: chunk.kvpack.reused_tokens, prefixSource: chunk.kvpack.prefix_source };
    }
  }
  return result.status === 200 ? result : { ...result, error: buffer };
}
