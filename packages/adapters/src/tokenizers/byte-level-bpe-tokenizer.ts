import { ModelArgumentError, ModelFormatError } from "../model/model-format-error.js";
import { type BpePreTokenizer, preTokenize } from "./bpe-pre-tokenizers.js";
import type { EncodeOptions, Tokenizer } from "./tokenizer.js";

const utf8Encoder = new TextEncoder();
const emptyBytes = new Uint8Array(0);
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** GGUF tokenizer.ggml.token_type values (llama.cpp llama_token_type). */
export const GgufTokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** encoder.py bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards. */
function byteToUnicodeTable(): string[] {
  const table: string[] = new Array(256);
  for (let b = 0; b < 256; b++) if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  return table;
}
const byteToUnicode = byteToUnicodeTable();
export const unicodeToByte = new Map(byteToUnicode.map((character, byte) => [character, byte]));

export interface ByteLevelBpeVocabulary {
  /** Piece strings in the byte-to-unicode alphabet (GGUF tokenizer.ggml.tokens of a "gpt2" model). */
  readonly tokens: readonly string[];
  /** "left right" merges, highest priority first. */
  readonly merges: readonly string[];
  /** GGUF token types; user-defined (4) tokens are matched as whole strings, control (3) and unknown (2) ones with `special`. */
  readonly tokenTypes?: readonly number[];
  /** The pre-tokenizer (bpePreTokenizer(name)): regexes and llama.cpp's per-name defaults. */
  readonly preTokenizer: BpePreTokenizer;
  readonly bosId: number;
  readonly eosId: number;
  /** Further end-of-generation tokens (end of turn / message, e.g. <|eot_id|>, <|im_end|>). */
  readonly stopTokenIds?: readonly number[];
  /** tokenizer.ggml.add_bos_token / add_eos_token: the defaults of encode's bos/eos options (add_bos defaults to the pre-tokenizer's). */
  readonly addBos?: boolean;
  readonly addEos?: boolean;
}

/**
 * Byte-level BPE as llama.cpp runs it for `tokenizer.ggml.model = "gpt2"` (Llama 3, Qwen2, SmolLM,
 * GPT-2 …): special tokens are split off first (user-defined always, control tokens with
 * `special`), the rest is pre-tokenized by the model's regexes, each piece's UTF-8 bytes are mapped
 * to the byte alphabet and merged by rank; a merged piece missing from the vocabulary falls back to
 * its single bytes.
 */
export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly stopTokenIds: readonly number[];
  private readonly ids = new Map<string, number>();
  private readonly mergeRanks = new Map<string, number>();
  private readonly tokenByteTable: Uint8Array[];
  private readonly userDefined: string[] = [];
  private readonly control: string[] = [];
  private readonly allSpecials: string[];
  private readonly cache = new Map<string, number[]>();
  private readonly decoder = new TextDecoder();

  /** Whether encode adds BOS / EOS when the call does not say. */
  readonly addBos: boolean;
  readonly addEos: boolean;

  constructor(private readonly vocabulary: ByteLevelBpeVocabulary) {
    const { tokens, tokenTypes } = vocabulary;
    this.vocabSize = tokens.length;
    if (tokenTypes !== undefined && tokenTypes.length !== tokens.length) {
      throw new ModelFormatError("gguf", "bad-metadata", `tokenizer has ${tokens.length} tokens but ${tokenTypes.length} token types`);
    }
    const named: [string, number][] = [["bos", vocabulary.bosId], ["eos", vocabulary.eosId], ...(vocabulary.stopTokenIds ?? []).map((id): [string, number] => ["stop", id])];
    for (const [name, id] of named) {
      if (!Number.isInteger(id) || id < 0 || id >= tokens.length) throw new ModelFormatError("gguf", "bad-metadata", `tokenizer ${name} token id ${id} is outside the vocabulary [0, ${tokens.length})`);
    }
    this.bosId = vocabulary.bosId;
    this.eosId = vocabulary.eosId;
    this.stopTokenIds = [...new Set([vocabulary.eosId, ...(vocabulary.stopTokenIds ?? [])])];
    this.addBos = vocabulary.addBos ?? vocabulary.preTokenizer.addBos;
    this.addEos = vocabulary.addEos ?? false;
    this.tokenByteTable = new Array(tokens.length).fill(emptyBytes);
    tokens.forEach((piece, id) => {
      if (typeof piece !== "string") throw new ModelFormatError("gguf", "bad-metadata", `tokenizer token ${id} is not a string`);
      if (!this.ids.has(piece)) this.ids.set(piece, id);
      const type = tokenTypes?.[id] ?? GgufTokenType.normal;
      if (type === GgufTokenType.control || type === GgufTokenType.unknown) {
        if (piece.length > 0) this.control.push(piece);
        return; // control tokens decode to nothing (llama.cpp token_to_piece without `special`)
      }
      if (type === GgufTokenType.userDefined) {
        if (piece.length > 0) this.userDefined.push(piece);
        this.tokenByteTable[id] = utf8Encoder.encode(piece); // user-defined pieces are plain text, not the byte alphabet
        return;
      }
      const bytes = new Uint8Array(piece.length);
      let valid = true;
      for (let i = 0; i < piece.length && valid; i++) {
        const byte = unicodeToByte.get(piece[i]);
        if (byte === undefined) valid = false;
        else bytes[i] = byte;
      }
      this.tokenByteTable[id] = valid ? bytes : utf8Encoder.encode(piece);
    });
    vocabulary.merges.forEach((merge, rank) => {
      // llama.cpp splits at the first space after the first character; both halves and their join must be tokens.
      const space = typeof merge === "string" ? merge.indexOf(" ", 1) : -1;
      if (space < 0) throw new ModelFormatError("gguf", "bad-metadata", `tokenizer merge ${rank} ${JSON.stringify(merge)} is not "left right"`);
      const left = merge.slice(0, space);
      const right = merge.slice(space + 1);
      for (const part of [left, right, left + right]) {
        if (!this.ids.has(part)) throw new ModelFormatError("gguf", "bad-metadata", `tokenizer merge ${rank} ${JSON.stringify(merge)} refers to ${JSON.stringify(part)}, which is not in the vocabulary`);
      }
      if (!this.mergeRanks.has(merge)) this.mergeRanks.set(merge, rank);
    });
    // Longest first, so a special token that contains another wins (llama.cpp sorts them the same way).
    this.userDefined.sort((a, b) => b.length - a.length);
    this.control.sort((a, b) => b.length - a.length);
    this.allSpecials = [...this.control, ...this.userDefined].sort((a, b) => b.length - a.length);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (options.bos ?? this.addBos) ids.push(this.bosId);
    const specials = options.special ? this.allSpecials : this.userDefined;
    // A lone surrogate becomes U+FFFD, as in its UTF-8 encoding (what llama.cpp is given).
    for (const [fragment, isSpecial] of splitOnSpecials(text.replace(loneSurrogate, "\ufffd"), specials)) {
      if (isSpecial) {
        ids.push(this.ids.get(fragment)!);
        continue;
      }
      for (const word of preTokenize(fragment, this.vocabulary.preTokenizer.regexes)) for (const id of this.encodeWord(word)) ids.push(id);
    }
    if (options.eos ?? this.addEos) ids.push(this.eosId);
    return ids;
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let parts = Array.from(utf8Encoder.encode(word), (byte) => byteToUnicode[byte]);
    if (this.vocabulary.preTokenizer.ignoreMerges) {
      // llama.cpp ignore_merges (Llama 3): a pre-token that is itself a token is not merged.
      const whole = this.ids.get(parts.join(""));
      if (whole !== undefined) {
        const ids = [whole];
        if (this.cache.size < 50_000) this.cache.set(word, ids);
        return ids;
      }
    }
    for (;;) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.mergeRanks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      const left = parts[bestIndex];
      const right = parts[bestIndex + 1];
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === left && parts[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(parts[i]);
        }
      }
      parts = merged;
    }
    const ids: number[] = [];
    for (const part of parts) {
      const id = this.ids.get(part);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // llama.cpp: a piece missing from the vocabulary is emitted byte by byte.
      for (const character of part) {
        const byteId = this.ids.get(character);
        if (byteId === undefined) throw new ModelFormatError("gguf", "bad-metadata", `byte-level BPE vocabulary has no token for the byte ${JSON.stringify(character)}`);
        ids.push(byteId);
      }
    }
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
  }

  /** The token's string as the vocabulary stores it (byte alphabet, e.g. "Ġthe"). */
  piece(id: number): string {
    this.tokenBytes(-1, id); // range check
    return this.vocabulary.tokens[id];
  }

  tokenBytes(_previous: number, id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new ModelArgumentError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    return this.tokenByteTable[id];
  }

  decodeToken(previous: number, id: number): string {
    return this.decoder.decode(this.tokenBytes(previous, id));
  }

  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => this.tokenBytes(-1, id));
    const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return this.decoder.decode(joined);
  }
}

/** Splits text into [fragment, isSpecial] runs at every occurrence of a special token (earliest, then longest). */
function splitOnSpecials(text: string, specials: readonly string[]): [string, boolean][] {
  if (specials.length === 0) return [[text, false]];
  const out: [string, boolean][] = [];
  let start = 0;
  while (start < text.length) {
    let best = -1;
    let bestToken = "";
    for (const token of specials) {
      if (token.length === 0) continue;
      const at = text.indexOf(token, start);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
        bestToken = token;
      }
    }
    if (best < 0) break;
    if (best > start) out.push([text.slice(start, best), false]);
    out.push([bestToken, true]);
    start = best + bestToken.length;
  }
  if (start < text.length) out.push([text.slice(start), false]);
  return out;
}
