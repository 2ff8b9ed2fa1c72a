import { Sampler, type Tokenizer } from "@kvpack/adapters";
import type { KVCache } from "@kvpack/cache";

/** Anything that runs one token at a position over a cache: the reference runtime or a kernel-backed one. */
export interface StepModel {
  readonly vocabSize: number;
  forward(token: number, position: number, cache: KVCache): Float32Array | Promise<Float32Array>;
}

export interface DualSide {
  readonly model: StepModel;
  readonly cache: KVCache;
}

export interface DualGenerationOptions {
  readonly promptIds: readonly number[];
  /** Tokens to generate after the prompt. */
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly seed: number;
  readonly stopTokenIds: readonly number[];
  readonly signal?: AbortSignal;
  /** Called after each generated position with the text each side added ("" once a side stopped). */
  readonly onStep: (step: { index: number; dense: string; compressed: string }) => void;
  /** Runs between steps so the worker can process messages (e.g. "stop"). */
  readonly yieldToEvents?: () => Promise<void>;
}

export interface DualGenerationResult {
  readonly denseTokens: number[];
  readonly compressedTokens: number[];
  readonly denseText: string;
  readonly compressedText: string;
  /** Index of the first generated token that differs, -1 when identical. */
  readonly firstDivergence: number;
  readonly stopped: boolean;
}

class SideState {
  readonly tokens: number[] = [];
  text = "";
  done = false;
  previous: number;
  next = -1;
  private readonly decoder = new TextDecoder();
  private readonly sampler: Sampler;

  constructor(
    readonly side: DualSide,
    options: DualGenerationOptions,
  ) {
    this.sampler = new Sampler(side.model.vocabSize, options);
    this.previous = options.promptIds[options.promptIds.length - 1];
  }

  sample(logits: Float32Array): void {
    this.next = this.sampler.sample(logits);
  }

  /** Accepts `next` as a generated token and returns the text it adds. */
  accept(tokenizer: Tokenizer): string {
    const token = this.next;
    this.tokens.push(token);
    const text = this.decoder.decode(tokenizer.tokenBytes(this.previous, token), { stream: true });
    this.previous = token;
    this.text += text;
    return text;
  }

  finish(): string {
    const rest = this.decoder.decode();
    this.text += rest;
    this.done = true;
    return rest;
  }
}

/**
 * Generates from one prompt on a dense and a compressed side in lockstep, with one sampler per
 * side seeded alike (llama2.c run.c semantics: prompt forced token by token, then sample, stop at
 * a stop token or after `maxTokens`). Both sides stream, so a divergence shows as it happens.
 */
export async function generateSideBySide(tokenizer: Tokenizer, dense: DualSide, compressed: DualSide, options: DualGenerationOptions): Promise<DualGenerationResult> {
  const sides = [new SideState(dense, options), new SideState(compressed, options)];
  const stopTokens = new Set(options.stopTokenIds);
  let position = 0;
  for (const id of options.promptIds) {
    for (const side of sides) {
      const logits = await side.side.model.forward(id, position, side.side.cache);
      if (position === options.promptIds.length - 1) side.sample(logits);
    }
    position++;
    if (options.signal?.aborted) break;
  }
  let stopped = false;
  for (let index = 0; index < options.maxTokens; index++) {
    if (options.signal?.aborted) {
      stopped = true;
      break;
    }
    const added = ["", ""];
    for (let sideIndex = 0; sideIndex < 2; sideIndex++) {
      const side = sides[sideIndex];
      if (side.done) continue;
      if (stopTokens.has(side.next)) {
        added[sideIndex] = side.finish();
        continue;
      }
      added[sideIndex] = side.accept(tokenizer);
      if (index + 1 < options.maxTokens) side.sample(await side.side.model.forward(side.tokens[side.tokens.length - 1], position, side.side.cache));
    }
    position++;
    options.onStep({ index, dense: added[0], compressed: added[1] });
    if (sides.every((side) => side.done)) break;
    await options.yieldToEvents?.();
  }
  const tails = sides.map((side) => (side.done ? "" : side.finish()));
  if (tails[0] || tails[1]) options.onStep({ index: -1, dense: tails[0], compressed: tails[1] });
  const [denseSide, compressedSide] = sides;
  let firstDivergence = -1;
  const common = Math.max(denseSide.tokens.length, compressedSide.tokens.length);
  for (let index = 0; index < common; index++) {
    if (denseSide.tokens[index] !== compressedSide.tokens[index]) {
      firstDivergence = index;
      break;
    }
  }
  return {
    denseTokens: denseSide.tokens,
    compressedTokens: compressedSide.tokens,
    denseText: denseSide.text,
    compressedText: compressedSide.text,
    firstDivergence,
    stopped,
  };
}
