// The pre-tokenizers of llama.cpp's byte-level BPE (llama-vocab.cpp, llm_tokenizer_bpe), by the
// `tokenizer.ggml.pre` names that select them. Each is a list of regexes applied in turn: every
// regex splits each piece from the previous one into its matches and the text between them.

const contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const llama3 = `${contractions}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const qwen2 = `${contractions}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const byFamily = {
  llama3: [llama3],
  qwen2: [qwen2],
  gpt2: [gpt2],
  // Single digits first, then GPT-2's pattern.
  smollm: ["\\p{N}", gpt2],
  default: ["[\\p{P}\\$\\+<=>\\^~\\|]+", gpt2, "\\p{N}+", "[0-9][0-9][0-9]"],
} as const;

/**
 * `tokenizer.ggml.pre` value → regex family, as llama.cpp's llama_vocab::impl::load maps the names to
 * pre-tokenizer types and llm_tokenizer_bpe gives each type its regexes. Only names whose regexes are
 * one of the families above are listed.
 */
const families: Record<string, keyof typeof byFamily> = {
  default: "default",
  "llama3": "llama3",
  "llama-v3": "llama3",
  "llama-bpe": "llama3",
  "falcon3": "llama3",
  "falcon-h1": "llama3",
  pixtral: "llama3",
  "midm-2.0": "llama3",
  lfm2: "llama3",
  dbrx: "llama3",
  "smaug-bpe": "llama3",
  qwen2: "qwen2",
  "deepseek-r1-qwen": "qwen2",
  kormo: "qwen2",
  megrez: "qwen2",
  stablelm2: "qwen2",
  "gpt-2": "gpt2",
  "phi-2": "gpt2",
  "jina-es": "gpt2",
  "jina-de": "gpt2",
  "jina-v2-es": "gpt2",
  "jina-v2-de": "gpt2",
  gigachat: "gpt2",
  "a.x-4.0": "gpt2",
  mellum: "gpt2",
  exaone4: "gpt2",
  mpt: "gpt2",
  olmo: "gpt2",
  jais: "gpt2",
  smollm: "smollm",
  starcoder: "smollm",
  refact: "smollm",
  "command-r": "smollm",
  codeshell: "smollm",
  exaone: "smollm",
  "minerva-7b": "smollm",
};

/** llama.cpp sets ignore_merges for these: a pre-token that is itself in the vocabulary is emitted whole, unmerged. */
const ignoresMerges = new Set(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"]);

/** llama.cpp sets add_bos for these when the file has no tokenizer.ggml.add_bos_token. */
const addsBos = new Set(ignoresMerges);

/** What a `tokenizer.ggml.pre` name selects: the regexes and llama.cpp's per-name defaults. */
export interface BpePreTokenizer {
  readonly name: string;
  readonly regexes: readonly RegExp[];
  readonly ignoreMerges: boolean;
  readonly addBos: boolean;
}

/** The names kvpack knows; others are refused rather than tokenized differently from llama.cpp. */
export const bpePreTokenizerNames: readonly string[] = Object.keys(families);

/** The pre-tokenizer a name selects, or undefined for a name kvpack does not know. */
export function bpePreTokenizer(name: string): BpePreTokenizer | undefined {
  const family = Object.hasOwn(families, name) ? families[name] : undefined;
  if (!family) return undefined;
  return { name, regexes: byFamily[family].map((source) => new RegExp(source, "gu")), ignoreMerges: ignoresMerges.has(name), addBos: addsBos.has(name) };
}

/** Splits `text` by each regex in turn, keeping both the matches and the text between them. */
export function preTokenize(text: string, regexes: readonly RegExp[]): string[] {
  let pieces = [text];
  for (const regex of regexes) {
    const next: string[] = [];
    for (const piece of pieces) {
      let last = 0;
      for (const match of piece.matchAll(regex)) {
        if (match.index > last) next.push(piece.slice(last, match.index));
        if (match[0].length > 0) next.push(match[0]);
        last = match.index + match[0].length;
      }
      if (last < piece.length) next.push(piece.slice(last));
    }
    pieces = next;
  }
  return pieces;
}
