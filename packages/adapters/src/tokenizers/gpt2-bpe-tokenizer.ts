import { ModelArgumentError, ModelFormatError } from "../model/model-format-error.js";
import type { EncodeOptions, Tokenizer } from "./tokenizer.js";

// GPT-2's pre-tokenizer (openai/gpt-2 encoder.py): contractions, letters, numbers, other symbols, whitespace.
const pretokenizePattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const utf8Encoder = new TextEncoder();
const emptyBytes = new Uint8Array(0);

/** encoder.py bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards, so every byte is a visible character. */
function byteToUnicodeTable(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  return table;
}

/**
 * GPT-2 byte-level BPE: text → UTF-8 bytes → visible characters, split by the GPT-2 pattern, then
 * merged by rank from vocab.bpe. `<|endoftext|>` (50256) is BOS and EOS.
 */
export class Gpt2BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly stopTokenIds: readonly number[];
  private readonly encoder: Map<string, number>;
  private readonly tokenByteTable: Uint8Array[];
  private readonly mergeRanks = new Map<string, number>();
  private readonly byteToUnicode = byteToUnicodeTable();
  private readonly cache = new Map<string, number[]>();
  private readonly decoder = new TextDecoder();

  constructor(encoder: Record<string, number>, merges: readonly (readonly [string, string])[], endOfTextToken = "<|endoftext|>") {
    this.encoder = new Map(Object.entries(encoder));
    let maxId = -1;
    for (const id of this.encoder.values()) {
      if (!Number.isInteger(id) || id < 0) throw new ModelFormatError("gpt2-tokenizer", "bad-metadata", `GPT-2 encoder: token ids must be non-negative integers, got ${id}`);
      if (id > maxId) maxId = id;
    }
    this.vocabSize = maxId + 1;
    const endOfText = this.encoder.get(endOfTextToken);
    if (endOfText === undefined) throw new ModelFormatError("gpt2-tokenizer", "bad-metadata", `GPT-2 encoder has no ${endOfTextToken} token`);
    this.bosId = endOfText;
    this.eosId = endOfText;
    this.stopTokenIds = [endOfText];
    merges.forEach(([left, right], rank) => this.mergeRanks.set(`${left} ${right}`, rank));
    const unicodeToByte = new Map(this.byteToUnicode.map((character, byte) => [character, byte]));
    this.tokenByteTable = new Array(this.vocabSize).fill(emptyBytes);
    for (const [piece, id] of this.encoder) {
      if (id === endOfText) continue;
      const bytes = new Uint8Array(piece.length);
      let valid = true;
      for (let i = 0; i < piece.length; i++) {
        const byte = unicodeToByte.get(piece[i]);
        if (byte === undefined) valid = false;
        else bytes[i] = byte;
      }
      // A piece outside the byte alphabet is an added special token: decode it as its own UTF-8.
      this.tokenByteTable[id] = valid ? bytes : utf8Encoder.encode(piece);
    }
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (options.bos) ids.push(this.bosId);
    for (const match of text.matchAll(pretokenizePattern)) {
      for (const id of this.encodeWord(match[0])) ids.push(id);
    }
    if (options.eos) ids.push(this.eosId);
    return ids;
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let parts = Array.from(utf8Encoder.encode(word), (byte) => this.byteToUnicode[byte]);
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
      // Merge every occurrence of the best pair, left to right, as encoder.py does.
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
    const ids = parts.map((part) => {
      const id = this.encoder.get(part);
      if (id === undefined) throw new ModelFormatError("gpt2-tokenizer", "bad-metadata", `GPT-2 encoder has no entry for the BPE piece ${JSON.stringify(part)}`);
      return id;
    });
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
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

/** Parses encoder.json (piece → id) and vocab.bpe (a "#version" line, then one "left right" merge per line). */
export function loadGpt2Tokenizer(encoderJson: string | Uint8Array, vocabBpe: string | Uint8Array): Gpt2BpeTokenizer {
  const text = (value: string | Uint8Array): string => (typeof value === "string" ? value : new TextDecoder().decode(value));
  let encoder: Record<string, number>;
  try {
    encoder = JSON.parse(text(encoderJson)) as Record<string, number>;
  } catch (error) {
    throw new ModelFormatError("gpt2-tokenizer", "bad-metadata", `GPT-2 encoder.json is not valid JSON: ${(error as Error).message}`);
  }
  const merges: [string, string][] = [];
  text(vocabBpe)
    .split("\n")
    .forEach((line, index) => {
      if (line.startsWith("#version") || line.trim() === "") return;
      const parts = line.split(" ");
      if (parts.length !== 2) throw new ModelFormatError("gpt2-tokenizer", "bad-metadata", `GPT-2 vocab.bpe line ${index + 1} is not "left right": ${JSON.stringify(line)}`);
      merges.push([parts[0], parts[1]]);
    });
  return new Gpt2BpeTokenizer(encoder, merges);
}
