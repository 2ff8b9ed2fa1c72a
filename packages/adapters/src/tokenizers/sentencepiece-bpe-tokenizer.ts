import { ModelArgumentError } from "../model/model-format-error.js";
import type { EncodeOptions, Tokenizer } from "./tokenizer.js";

export interface SentencePieceVocabulary {
  /** Token pieces with spaces as " " (llama2.c export form, not "▁"). */
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  readonly bosId?: number;
  readonly eosId?: number;
  /** Tokens that end generation; default BOS and EOS (llama2.c models emit BOS between stories). */
  readonly stopTokenIds?: readonly number[];
  /** Whether encode adds BOS / EOS when the call does not say (GGUF add_bos_token / add_eos_token); default false. */
  readonly addBos?: boolean;
  readonly addEos?: boolean;
}

const utf8Encoder = new TextEncoder();
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const bytePiecePattern = /^<0x([0-9A-Fa-f]{2})>/;
const emptyBytes = new Uint8Array(0);
// run.c starts its best-score search at -1e10 and needs a strictly greater score to merge.
const minimumScore = -1e10;

/**
 * SentencePiece-style BPE as llama2.c run.c implements it: a dummy prefix space, one token per
 * UTF-8 code point (byte fallback to ids byte + 3 for `<0xNN>`), then repeatedly merge the adjacent
 * pair whose joined piece is in the vocabulary with the highest score (leftmost on ties).
 */
export class SentencePieceBpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly stopTokenIds: readonly number[];
  readonly addBos: boolean;
  readonly addEos: boolean;
  private readonly pieces: readonly string[];
  private readonly scores: Float32Array;
  private readonly pieceBytes: Uint8Array[];
  private readonly lookup = new Map<string, number>();
  private readonly byteIds = new Int32Array(256);
  private readonly decoder = new TextDecoder();

  constructor(vocabulary: SentencePieceVocabulary) {
    const { pieces, scores } = vocabulary;
    if (pieces.length !== scores.length) {
      throw new ModelArgumentError(`SentencePieceBpeTokenizer: ${pieces.length} pieces but ${scores.length} scores`);
    }
    this.vocabSize = pieces.length;
    this.bosId = vocabulary.bosId ?? 1;
    this.eosId = vocabulary.eosId ?? 2;
    this.stopTokenIds = vocabulary.stopTokenIds ?? [this.bosId, this.eosId];
    this.addBos = vocabulary.addBos ?? false;
    this.addEos = vocabulary.addEos ?? false;
    this.pieces = pieces;
    this.scores = scores;
    // First id wins on duplicate pieces, like a stable sorted lookup.
    pieces.forEach((piece, id) => {
      if (!this.lookup.has(piece)) this.lookup.set(piece, id);
    });
    for (let byte = 0; byte < 256; byte++) {
      // Vocabularies without byte pieces (tok105) fall back like run.c, or to <unk> (0) past the end.
      const fallback = byte + 3 < pieces.length ? byte + 3 : 0;
      this.byteIds[byte] = this.lookup.get(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`) ?? fallback;
    }
    this.pieceBytes = pieces.map((piece) => {
      const byte = bytePiecePattern.exec(piece);
      return byte ? Uint8Array.of(parseInt(byte[1], 16)) : utf8Encoder.encode(piece);
    });
  }

  /** The piece string of a token id (as stored, e.g. " Once" or "<0x0A>"). */
  piece(id: number): string {
    this.checkId(id);
    return this.pieces[id];
  }

  /** The merge score of a token id. */
  score(id: number): number {
    this.checkId(id);
    return this.scores[id];
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const tokens: number[] = [];
    if (options.bos ?? this.addBos) tokens.push(this.bosId);
    const start = tokens.length;
    // run.c adds the dummy prefix only for non-empty text.
    if (text.length > 0) {
      const space = this.lookup.get(" ");
      if (space !== undefined) tokens.push(space);
    }
    // A lone surrogate is U+FFFD, as in its UTF-8 encoding (llama.cpp sees the UTF-8 bytes).
    for (const codePoint of text.replace(loneSurrogate, "\ufffd")) {
      const id = this.lookup.get(codePoint);
      if (id !== undefined) {
        tokens.push(id);
        continue;
      }
      // Byte fallback to the <0xNN> pieces; run.c assumes they follow <unk>, <s>, </s> (id b + 3).
      for (const byte of utf8Encoder.encode(codePoint)) tokens.push(this.byteIds[byte]);
    }
    this.mergePairs(tokens, start);
    if (options.eos ?? this.addEos) tokens.push(this.eosId);
    return tokens;
  }

  /**
   * run.c's merge loop in O(n log n): symbols form a linked list (each merge keeps the left node, so
   * node order is text order) and candidate pairs sit in a max-heap keyed by (score, leftmost node).
   * A heap entry is live while it is its node's current candidate; entries made stale by a neighbour's
   * merge are skipped when popped. run.c keeps the first pair with a strictly greater score than
   * -1e10, so equal scores go to the leftmost pair and scores at or below -1e10 never merge.
   */
  private mergePairs(tokens: number[], start: number): void {
    const count = tokens.length - start;
    if (count < 2) return;
    const ids = Int32Array.from(tokens.slice(start));
    const next = new Int32Array(count);
    const previous = new Int32Array(count);
    for (let node = 0; node < count; node++) {
      next[node] = node + 1 < count ? node + 1 : -1;
      previous[node] = node - 1;
    }
    // The merged id of each node with its right neighbour, and the heap entry that offers it (−1: none).
    const pairIds = new Int32Array(count);
    const liveEntry = new Int32Array(count).fill(-1);
    // At most count − 1 initial pairs plus two new pairs per merge (and at most count − 1 merges).
    const capacity = 3 * count;
    const entryNodes = new Int32Array(capacity);
    const entryScores = new Float64Array(capacity);
    const heap = new Int32Array(capacity);
    let entries = 0;
    let heapSize = 0;

    const before = (a: number, b: number): boolean =>
      entryScores[a] > entryScores[b] || (entryScores[a] === entryScores[b] && entryNodes[a] < entryNodes[b]);

    const offer = (node: number): void => {
      liveEntry[node] = -1;
      const right = next[node];
      if (right < 0) return;
      const id = this.lookup.get(this.pieces[ids[node]] + this.pieces[ids[right]]);
      if (id === undefined || !(this.scores[id] > minimumScore)) return;
      const entry = entries++;
      entryNodes[entry] = node;
      entryScores[entry] = this.scores[id];
      pairIds[node] = id;
      liveEntry[node] = entry;
      let at = heapSize++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!before(entry, heap[parent])) break;
        heap[at] = heap[parent];
        at = parent;
      }
      heap[at] = entry;
    };

    const popTop = (): number => {
      const top = heap[0];
      const last = heap[--heapSize];
      let at = 0;
      for (;;) {
        let child = 2 * at + 1;
        if (child >= heapSize) break;
        if (child + 1 < heapSize && before(heap[child + 1], heap[child])) child++;
        if (!before(heap[child], last)) break;
        heap[at] = heap[child];
        at = child;
      }
      if (heapSize > 0) heap[at] = last;
      return top;
    };

    for (let node = 0; node < count - 1; node++) offer(node);
    while (heapSize > 0) {
      const entry = popTop();
      const node = entryNodes[entry];
      if (liveEntry[node] !== entry) continue;
      const right = next[node];
      ids[node] = pairIds[node];
      liveEntry[right] = -1;
      next[node] = next[right];
      if (next[right] >= 0) previous[next[right]] = node;
      offer(node);
      if (previous[node] >= 0) offer(previous[node]);
    }

    tokens.length = start;
    for (let node = 0; node >= 0; node = next[node]) tokens.push(ids[node]);
  }

  tokenBytes(previous: number, id: number): Uint8Array {
    this.checkId(id);
    if (id === this.bosId || id === this.eosId) return emptyBytes;
    const bytes = this.pieceBytes[id];
    // run.c: after BOS, SentencePiece strips the leading space of the first piece.
    if (previous === this.bosId && bytes.length > 0 && bytes[0] === 0x20 && !bytePiecePattern.test(this.pieces[id])) return bytes.subarray(1);
    return bytes;
  }

  decodeToken(previous: number, id: number): string {
    return this.decoder.decode(this.tokenBytes(previous, id));
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.tokenBytes(i > 0 ? ids[i - 1] : -1, ids[i]);
      parts.push(bytes);
      total += bytes.length;
    }
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return this.decoder.decode(joined);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new ModelArgumentError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}
