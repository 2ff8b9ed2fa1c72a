export interface EncodeOptions {
  /** Prepend the beginning-of-sequence token. */
  readonly bos?: boolean;
  /** Append the end-of-sequence token. */
  readonly eos?: boolean;
  /**
   * Match special (control) tokens written in the text, e.g. "<|im_end|>" in a rendered chat
   * template (llama.cpp parse_special); otherwise they are tokenized as plain text. Tokenizers
   * without special tokens ignore it.
   */
  readonly special?: boolean;
}

/** Text ↔ token ids for one model vocabulary. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Tokens that end generation by default (llama2.c models emit BOS between stories). */
  readonly stopTokenIds: readonly number[];
  encode(text: string, options?: EncodeOptions): number[];
  /** The text of a token sequence (special tokens dropped, bytes joined before UTF-8 decoding). */
  decode(ids: readonly number[]): string;
  /** The text one token adds after `previous` (run.c decode semantics for SentencePiece). */
  decodeToken(previous: number, id: number): string;
  /** The raw bytes one token adds after `previous`; streaming decoders join these so multi-byte characters split across tokens come out whole. */
  tokenBytes(previous: number, id: number): Uint8Array;
}
