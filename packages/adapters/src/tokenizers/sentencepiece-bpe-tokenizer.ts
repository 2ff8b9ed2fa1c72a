import { ModelArgumentError } from "../model/model-format-error.js";
import type { EncodeOptions, Tokenizer } from "./tokenizer.js";

export interface SentencePieceVocabulary {
  /** Token pieces with spaces as " " (llama2.c export form, not "▁"). */
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  readonly bosId?: number;
  readonly eosId?: number;
}

const utf8Encoder = new TextEncoder();
const bytePiecePattern = /^<0x([0-9A-Fa-f]{2})>/;
const emptyBytes = new Uint8Array(0);

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
    this.stopTokenIds = [this.bosId, this.eosId];
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
    if (options.bos) tokens.push(this.bosId);
    const start = tokens.length;
    // run.c adds the dummy prefix only for non-empty text.
    if (text.length > 0) {
      const space = this.lookup.get(" ");
      if (space !== undefined) tokens.push(space);
    }
    for (const codePoint of text) {
      const id = this.lookup.get(codePoint);
      if (id !== undefined) {
        tokens.push(id);
        continue;
      }
      // Byte fallback to the <0xNN> pieces; run.c assumes they follow <unk>, <s>, </s> (id b + 3).
      for (const byte of utf8Encoder.encode(codePoint)) tokens.push(this.byteIds[byte]);
    }
    this.mergePairs(tokens, start);
    if (options.eos) tokens.push(this.eosId);
    return tokens;
  }

  private mergePairs(tokens: number[], start: number): void {
    // pairIds[i] / pairScores[i]: the merge of tokens[i] and tokens[i + 1] (−1 when not in the vocabulary).
    // Cached so each round is a numeric scan; only the two pairs touching a merge are looked up again.
    const pairIds: number[] = [];
    const pairScores: number[] = [];
    for (let i = start; i < tokens.length - 1; i++) this.pushPair(pairIds, pairScores, tokens[i], tokens[i + 1]);
    for (;;) {
      let bestScore = -1e10;
      let best = -1;
      for (let i = 0; i < pairIds.length; i++) {
        if (pairIds[i] >= 0 && pairScores[i] > bestScore) {
          bestScore = pairScores[i];
          best = i;
        }
      }
      if (best < 0) return;
      const index = start + best;
      tokens.splice(index, 2, pairIds[best]);
      pairIds.splice(best, 1);
      pairScores.splice(best, 1);
      if (best < pairIds.length) this.setPair(pairIds, pairScores, best, tokens[index], tokens[index + 1]);
      if (best > 0) this.setPair(pairIds, pairScores, best - 1, tokens[index - 1], tokens[index]);
    }
  }

  private pushPair(pairIds: number[], pairScores: number[], left: number, right: number): void {
    const id = this.lookup.get(this.pieces[left] + this.pieces[right]) ?? -1;
    pairIds.push(id);
    pairScores.push(id >= 0 ? this.scores[id] : 0);
  }

  private setPair(pairIds: number[], pairScores: number[], at: number, left: number, right: number): void {
    const id = this.lookup.get(this.pieces[left] + this.pieces[right]) ?? -1;
    pairIds[at] = id;
    pairScores[at] = id >= 0 ? this.scores[id] : 0;
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
