import type { FastifyReply } from "fastify";

/**
 * Writes an OpenAI-style event stream on the raw response: `data: <json>\n\n` per chunk and
 * `data: [DONE]\n\n` at the end. Writes after the client left are ignored.
 */
export class ServerSentEventStream {
  private ended = false;

  constructor(private readonly reply: FastifyReply) {}

  open(): void {
    // Headers set by hooks (CORS) live on the reply; a hijacked reply must copy them itself.
    const hookHeaders = this.reply.getHeaders();
    this.reply.hijack();
    this.reply.raw.writeHead(200, {
      ...(hookHeaders as Record<string, string>),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.reply.raw.flushHeaders?.();
  }

  get closed(): boolean {
    return this.ended || this.reply.raw.destroyed || this.reply.raw.writableEnded;
  }

  send(data: unknown): void {
    if (this.closed) return;
    this.reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends with `data: [DONE]`, OpenAI's end-of-stream marker. */
  done(): void {
    if (this.closed) return;
    this.reply.raw.write("data: [DONE]\n\n");
    this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
  }
}
