import { Tokenizer as LibraryTokenizer } from "@huggingface/tokenizers";
import { ModelArgumentError, ModelFormatError } from "../model/model-format-error.js";
import { unicodeToByte } from "../tokenizers/byte-level-bpe-tokenizer.js";
import type { EncodeOptions, Tokenizer } from "../tokenizers/tokenizer.js";

type Json = Readonly<Record<string, unknown>>;

/** Token ids a model folder declares outside tokenizer.json (config.json / generation_config.json). */
export interface HuggingFaceTokenizerDefaults {
  readonly bosTokenId?: number;
  /** Every id that ends generation (generation_config.json `eos_token_id` may be a list). */
  readonly eosTokenIds?: readonly number[];
}

const emptyBytes = new Uint8Array(0);
const utf8 = new TextEncoder();
const bytePiece = /^<0x([0-9A-Fa-f]{2})>$/;

function tokenText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as Json).content === "string") return (value as Json).content as string;
  return undefined;
}

/** True when the decoder maps bytes through GPT-2's byte-to-unicode alphabet (ByteLevel), not "▁" pieces. */
function isByteLevel(decoder: unknown): boolean {
  if (typeof decoder !== "object" || decoder === null) return false;
  const { type, decoders } = decoder as Json;
  if (type === "ByteLevel") return true;
  return Array.isArray(decoders) && decoders.some(isByteLevel);
}

/**
 * A tokenizer.json run by @huggingface/tokenizers (the pure-JS port of 🤗 tokenizers that
 * transformers.js uses), behind kvpack's Tokenizer interface. Special tokens written in the text
 * are matched only with `special: true` (a second instance without them tokenizes them as text);
 * BOS/EOS follow the post-processor (what `add_special_tokens` adds) unless the call says.
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly stopTokenIds: readonly number[];
  /** Whether the post-processor adds BOS / EOS (encode's defaults). */
  readonly addBos: boolean;
  readonly addEos: boolean;
  private readonly library: LibraryTokenizer;
  private plainLibrary: LibraryTokenizer | undefined;
  private readonly json: Json;
  private readonly config: Json;
  private readonly byteLevel: boolean;
  private readonly specialIds = new Set<number>();
  private readonly bytesCache = new Map<number, Uint8Array>();
  private readonly decoder = new TextDecoder();

  constructor(tokenizerJson: Json, tokenizerConfig: Json = {}, defaults: HuggingFaceTokenizerDefaults = {}) {
    if (typeof (tokenizerJson?.model as Json | undefined)?.type !== "string") {
      throw new ModelFormatError("tokenizer-json", "bad-metadata", "tokenizer.json: model.type is missing (not a 🤗 tokenizers file)");
    }
    this.json = tokenizerJson;
    this.config = tokenizerConfig;
    try {
      this.library = new LibraryTokenizer(tokenizerJson, tokenizerConfig);
    } catch (error) {
      throw new ModelFormatError("tokenizer-json", "unsupported", `tokenizer.json: @huggingface/tokenizers cannot load it: ${(error as Error).message}`);
    }
    this.byteLevel = isByteLevel(tokenizerJson.decoder);
    let largest = -1;
    for (const id of this.library.get_vocab(true).values()) largest = Math.max(largest, id);
    this.vocabSize = largest + 1;
    for (const [id, token] of this.library.get_added_tokens_decoder()) if (token.special) this.specialIds.add(id);

    // What add_special_tokens puts around a text: the post-processor's BOS / EOS.
    const bare = this.library.encode("a", { add_special_tokens: false }).ids;
    const framed = this.library.encode("a", { add_special_tokens: true }).ids;
    const addedBos = framed.length > bare.length && framed[0] !== bare[0] ? framed[0] : undefined;
    const addedEos = framed.length > bare.length && framed[framed.length - 1] !== bare[bare.length - 1] ? framed[framed.length - 1] : undefined;
    this.addBos = addedBos !== undefined;
    this.addEos = addedEos !== undefined;
    const configured = (key: string): number | undefined => {
      const text = tokenText(tokenizerConfig[key]);
      return text === undefined ? undefined : this.library.token_to_id(text);
    };
    const eosIds = defaults.eosTokenIds ?? [];
    this.eosId = configured("eos_token") ?? eosIds[0] ?? addedEos ?? -1;
    this.bosId = configured("bos_token") ?? defaults.bosTokenId ?? addedBos ?? this.eosId;
    this.stopTokenIds = [...new Set([...(this.eosId >= 0 ? [this.eosId] : []), ...eosIds])];
    for (const id of [this.bosId, this.eosId, ...this.stopTokenIds]) {
      if (id >= this.vocabSize) throw new ModelFormatError("tokenizer-json", "bad-metadata", `tokenizer: special token id ${id} is outside tokenizer.json's ${this.vocabSize} ids`);
    }
  }

  /** The token string tokenizer.json gives an id (e.g. "▁Once", "Ġthe", "<0x0A>"). */
  piece(id: number): string {
    this.checkId(id);
    return this.library.id_to_token(id) ?? "";
  }

  /** The id of a token string, or undefined. */
  tokenId(piece: string): number | undefined {
    return this.library.token_to_id(piece);
  }

  /** The text of a special token id as the chat template prints it (tokenizer_config.json bos_token / eos_token). */
  tokenText(key: "bos_token" | "eos_token"): string {
    return tokenText(this.config[key]) ?? "";
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const library = options.special === true ? this.library : this.plain();
    const ids = library.encode(text, { add_special_tokens: false }).ids;
    if ((options.bos ?? this.addBos) && this.bosId >= 0) ids.unshift(this.bosId);
    if ((options.eos ?? this.addEos) && this.eosId >= 0) ids.push(this.eosId);
    return ids;
  }

  decode(ids: readonly number[]): string {
    for (const id of ids) this.checkId(id);
    return this.library.decode([...ids], { skip_special_tokens: true });
  }

  tokenBytes(previous: number, id: number): Uint8Array {
    this.checkId(id);
    if (this.specialIds.has(id)) return emptyBytes;
    let bytes = this.bytesCache.get(id);
    if (bytes === undefined) {
      bytes = this.pieceBytes(this.library.id_to_token(id) ?? "");
      this.bytesCache.set(id, bytes);
    }
    // SentencePiece decoders strip the dummy prefix space of the first piece (after BOS when streaming).
    if (!this.byteLevel && (previous < 0 || previous === this.bosId) && bytes[0] === 0x20 && !bytePiece.test(this.library.id_to_token(id) ?? "")) return bytes.subarray(1);
    return bytes;
  }

  decodeToken(previous: number, id: number): string {
    return this.decoder.decode(this.tokenBytes(previous, id));
  }

  private pieceBytes(piece: string): Uint8Array {
    if (this.byteLevel) {
      const bytes: number[] = [];
      for (const character of piece) {
        const byte = unicodeToByte.get(character);
        if (byte === undefined) return utf8.encode(piece); // an added token outside the byte alphabet
        bytes.push(byte);
      }
      return Uint8Array.from(bytes);
    }
    const byte = bytePiece.exec(piece);
    return byte ? Uint8Array.of(parseInt(byte[1], 16)) : utf8.encode(piece.replaceAll("\u2581", " "));
  }

  /** The same tokenizer with its special tokens unmatched in text (they become plain pieces). */
  private plain(): LibraryTokenizer {
    if (this.specialIds.size === 0) return this.library;
    if (this.plainLibrary === undefined) {
      const added = Array.isArray(this.json.added_tokens) ? (this.json.added_tokens as Json[]) : [];
      this.plainLibrary = new LibraryTokenizer({ ...this.json, added_tokens: added.filter((token) => token.special !== true) }, this.config);
    }
    return this.plainLibrary;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new ModelArgumentError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
  }
}
