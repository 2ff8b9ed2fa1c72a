import { describe, expect, it } from "vitest";
import { CompressedKVCache } from "../compressed/compressed-kv-cache.js";
import { createTestCodec, seededFloats, testCodecFactory } from "../test-support/test-codecs.js";
import type { AttentionBackend, LayerAttentionRequest } from "./attention-backend.js";
import { TypeScriptAttention } from "./typescript-attention.js";

const layers = 2;
const kvHeads = 2;
const heads = 4;
const headDim = 8;

function filledCache(attention?: AttentionBackend): CompressedKVCache {
  const cache = new CompressedKVCache({
    layers,
    kvHeads,
    headDim,
    keys: createTestCodec({ kind: "fp32", dimension: headDim, flip: true }),
    values: createTestCodec({ kind: "fp32", dimension: headDim, flip: true }),
    pageSize: 4,
    residualWindow: 4,
    codecFactory: testCodecFactory,
    attention,
  });
  for (let position = 0; position < 13; position++) {
    for (let layer = 0; layer < layers; layer++) {
      cache.append(layer, seededFloats(kvHeads * headDim, 10 + position * 7 + layer), seededFloats(kvHeads * headDim, 500 + position * 7 + layer));
    }
  }
  return cache;
}

/** Records what the cache hands it; serves only when told to, writing a constant it can recognise. */
class RecordingBackend implements AttentionBackend {
  readonly name = "recording";
  readonly requests: LayerAttentionRequest[] = [];
  readonly released: number[] = [];
  constructor(private readonly serve: boolean) {}
  attendLayer(request: LayerAttentionRequest): boolean {
    this.requests.push(request);
    if (!this.serve) return false;
    request.out.fill(0.25, 0, request.heads * request.headDim);
    return true;
  }
  pageReleased(pageId: number): void {
    this.released.push(pageId);
  }
}

describe("the attention seam", () => {
  const queries = seededFloats(heads * headDim, 99);

  it("a declining backend leaves the answer to the TypeScript attention, bit for bit", () => {
    const declining = new RecordingBackend(false);
    const withBackend = filledCache(declining);
    const plain = filledCache();
    const a = new Float32Array(heads * headDim);
    const b = new Float32Array(heads * headDim);
    withBackend.attend(1, queries, a, { heads });
    plain.attend(1, queries, b, { heads });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(declining.requests).toHaveLength(1);
    expect(plain.attentionBackendName()).toBe("typescript");
  });

  it("hands a serving backend the layer's pages, residual window and shape, and uses its output", () => {
    const serving = new RecordingBackend(true);
    const cache = filledCache(serving);
    const out = new Float32Array(heads * headDim);
    cache.attend(0, queries, out, { heads });
    expect(Array.from(out)).toEqual(new Array(heads * headDim).fill(0.25));
    const [request] = serving.requests;
    // 13 tokens, page size 4, flush at max(R, P) = 4: 3 pages per KV head and 1 residual row.
    expect(request.length).toBe(13);
    expect(request.pages.map((pages) => pages.length)).toEqual([3, 3]);
    expect(request.residual.count).toBe(1);
    expect(request.residual.start).toBe(12);
    expect(request.residual.stride).toBe(4);
    expect(request.scale).toBeCloseTo(1 / Math.sqrt(headDim), 12);
    expect(cache.attentionBackendName()).toBe("recording");
  });

  it("bumps a page's revision when a drop changes what attention sees, and reports freed pages", () => {
    const serving = new RecordingBackend(true);
    const cache = filledCache(serving);
    const out = new Float32Array(heads * headDim);
    cache.attend(0, queries, out, { heads });
    const before = serving.requests[0].pages[0][1];
    const revision = before.revision;
    cache.drop(0, [5], 0);
    expect(before.revision).toBe(revision + 1);
    // Dropping every row of the first page frees it.
    const firstId = serving.requests[0].pages[0][0].id;
    cache.drop(0, [0, 1, 2, 3], 0);
    expect(serving.released).toContain(firstId);
    cache.truncate(0);
    // Every one of the layers × KV heads × 3 pages is released exactly once.
    expect([...serving.released].sort((a, b) => a - b)).toEqual(Array.from(new Set(serving.released)).sort((a, b) => a - b));
    expect(serving.released).toHaveLength(layers * kvHeads * 3);
  });

  it("the TypeScript backend alone equals the cache's own attention", () => {
    const cache = filledCache();
    const out = new Float32Array(heads * headDim);
    let captured: LayerAttentionRequest | undefined;
    cache.setAttentionBackend({
      name: "capture",
      attendLayer: (request) => {
        captured = request;
        return false;
      },
    });
    cache.attend(1, queries, out, { heads });
    const direct = new Float32Array(heads * headDim);
    new TypeScriptAttention(headDim).attendLayer({ ...(captured as LayerAttentionRequest), out: direct });
    expect(Array.from(direct)).toEqual(Array.from(out));
  });
});
