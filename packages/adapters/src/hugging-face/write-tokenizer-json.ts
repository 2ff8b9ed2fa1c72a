/**
 * tokenizer.json files (🤗 tokenizers format) for vocabularies kvpack reads in other forms, so a
 * model can be written as a Hugging Face folder: a SentencePiece BPE vocabulary (llama2.c
 * tokenizer.bin, GGUF "llama") as the Llama 2 `LlamaTokenizerFast` layout, and GPT-2's
 * encoder.json + vocab.bpe as the GPT-2 layout.
 */

function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

export interface SentencePieceTokenizerJsonOptions {
  /** Pieces with spaces as " " (llama2.c form) or "▁"; ids 0, 1, 2 are <unk>, <s>, </s> (llama2.c writes them as "\n<s>\n"). */
  readonly pieces: readonly string[];
  readonly scores: ArrayLike<number>;
  /** Whether the post-processor adds <s> (Llama 2: true). */
  readonly addBos?: boolean;
}

/**
 * A Llama 2 style tokenizer.json: BPE with byte fallback, "▁" for spaces and a dummy prefix
 * (Prepend normalizer), merges in the order SentencePiece applies them. As Hugging Face's
 * LlamaConverter does, every split of a piece into two vocabulary pieces is a merge, ranked by the
 * merged piece's score (higher first), so BPE by rank merges what SentencePiece merges by score.
 */
export function sentencePieceTokenizerJson(options: SentencePieceTokenizerJsonOptions): Record<string, unknown> {
  const specials = ["<unk>", "<s>", "</s>"];
  const pieces = options.pieces.map((piece, id) => (id < 3 ? specials[id] : piece.replaceAll(" ", "\u2581")));
  const vocab: Record<string, number> = {};
  pieces.forEach((piece, id) => {
    if (!(piece in vocab)) vocab[piece] = id;
  });
  const merges: { left: string; right: string; score: number; id: number }[] = [];
  pieces.forEach((piece, id) => {
    if (id < 3 || /^<0x[0-9A-F]{2}>$/.test(piece)) return;
    const characters = [...piece];
    for (let split = 1; split < characters.length; split++) {
      const left = characters.slice(0, split).join("");
      const right = characters.slice(split).join("");
      if (left in vocab && right in vocab) merges.push({ left, right, score: options.scores[id], id });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id || vocab[a.left] - vocab[b.left]);
  const bos = { SpecialToken: { id: "<s>", type_id: 0 } };
  const addBos = options.addBos ?? true;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => addedToken(id, content)),
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [...(addBos ? [bos] : []), { Sequence: { id: "A", type_id: 0 } }],
      pair: [...(addBos ? [bos] : []), { Sequence: { id: "A", type_id: 0 } }, ...(addBos ? [{ SpecialToken: { id: "<s>", type_id: 1 } }] : []), { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [{ type: "Replace", pattern: { String: "\u2581" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(({ left, right }) => [left, right]),
    },
  };
}

/** GPT-2's tokenizer.json: byte-level BPE with GPT-2's pre-tokenizer regex, <|endoftext|> as the one special token. */
export function gpt2TokenizerJson(encoder: Readonly<Record<string, number>>, merges: readonly string[]): Record<string, unknown> {
  const endOfText = encoder["<|endoftext|>"];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: endOfText === undefined ? [] : [addedToken(endOfText, "<|endoftext|>")],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: encoder,
      merges: merges.filter((line) => line.length > 0 && !line.startsWith("#version")).map((line) => line.split(" ")),
    },
  };
}
