/**
 * The README's result tables, each rendered from one bench-results JSON file and nothing else: every
 * number printed is read from (or computed from numbers in) that file, every ratio is printed beside the
 * two numbers it divides, and every table carries the machine line (and ceilings) of the run behind it.
 */
import { fixed, markdownTable, significant } from "./markdown-table.js";
import { compareWithReference, type ScoredRun } from "../eval/reference-comparison.js";

/** A parsed bench-results file (shapes differ per benchmark; each renderer reads what it needs). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResultJson = Record<string, any>;

export interface TableRenderer {
  /** Marker name in the README (`<!-- results:NAME:start -->`). */
  readonly name: string;
  /** bench-results file the table is rendered from. */
  readonly file: string;
  render(json: ResultJson): string;
}

const gb = (bytesPerSecond: number) => `${(bytesPerSecond / 1e9).toFixed(2)} GB/s`;

/** "Machine: AMD EPYC, 2 cores, Node v20.20.2, run 2026-12-06 (`bench-results/x.json`)" plus the ceilings when recorded. */
export function machineCaption(json: ResultJson, file: string): string {
  const machine = json.machine ?? {};
  const line = `Machine: ${machine.cpu ?? "unknown CPU"}, ${machine.cores ?? "?"} cores, Node ${machine.node ?? "?"}, run ${String(json.createdAt ?? "").slice(0, 10)} (\`bench-results/${file}\`).`;
  const ceilings = json.ceilings;
  if (!ceilings || ceilings.skipped) return `${line} Ceilings: not recorded in this file (it predates them; rerun its benchmark to add them).`;
  const one = ceilings.singleThread;
  const all = ceilings.allThreads;
  return (
    `${line} Ceilings measured in the same run, 1 thread / ${all.threads} threads: streaming read WASM ${gb(one.wasmReadBytesPerSecond)} / ${gb(all.wasmReadBytesPerSecond)}, ` +
    `JS ${gb(one.jsReadBytesPerSecond)} / ${gb(all.jsReadBytesPerSecond)}; copy (read + write) WASM ${gb(one.wasmCopyBytesPerSecond)} / ${gb(all.wasmCopyBytesPerSecond)}; ` +
    `WASM SIMD f32 multiply-adds ${(one.wasmSimdMultiplyAddsPerSecond / 1e9).toFixed(1)} / ${(all.wasmSimdMultiplyAddsPerSecond / 1e9).toFixed(1)} G/s.`
  );
}

/** "x.xx× (a / b)": a ratio with the two numbers it came from. */
function ratio(numerator: number | null | undefined, denominator: number | null | undefined, digits: number, unitDigits: number): string {
  if (!numerator || !denominator) return "–";
  return `${(numerator / denominator).toFixed(digits)}× (${numerator.toFixed(unitDigits)} / ${denominator.toFixed(unitDigits)})`;
}

const codecs: TableRenderer = {
  name: "codecs",
  file: "codecs.json",
  render(json) {
    const dimension = 128;
    const rows = (json.results as ResultJson[]).filter((row) => row.dimension === dimension);
    const mse = (codec: string, rate: number, blockSize: number | null = null) => {
      const row = rows.find((entry) => entry.codec === codec && Math.abs(entry.rate - rate) < 1e-9 && (blockSize === null || entry.blockSize === blockSize));
      if (!row) return "–";
      // N = round(2^(k·b)) may give a code rate other than the nominal one (k = 2 at 0.75: N = 3, 0.79 bits).
      const offRate = Math.abs(row.codeRate - rate) > 1e-9 ? ` (code rate ${fixed(row.codeRate, 2)})` : "";
      return codec.startsWith("kivi") ? `${significant(row.normalizedMse)} (${fixed(row.bitsPerElement, 2)} bits all-in)` : `${significant(row.normalizedMse)}${offRate}`;
    };
    const rates = [0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4];
    const table = markdownTable(
      ["code rate", "TurboQuant (scalar)", "FibQuant k=2", "FibQuant k=4", "FibQuant k=8", "KIVI (keys)", "QuaRot"],
      rates.map((rate) => [String(rate), mse("turboquant", rate), mse("fibquant", rate, 2), mse("fibquant", rate, 4), mse("fibquant", rate, 8), mse("kivi-key", rate), mse("quarot", rate)]),
    );
    const llama = ["q8_0", "q5_0", "q4_1", "q4_0"].map((type) => rows.find((row) => row.codec === type)).filter((row): row is ResultJson => row !== undefined);
    const llamaTable = llama.length
      ? `\n\nllama.cpp's KV cache types as kvpack codecs (blocks of 32, fp16 scales), same vectors:\n\n${markdownTable(
          ["type", "bits all-in", "normalized MSE"],
          llama.map((row) => [row.codec, fixed(row.bitsPerElement, 3), significant(row.normalizedMse)]),
        )}`
      : "";
    return (
      `Normalized MSE E‖u − û‖² at d = ${dimension}; bits are all-in (codes + fp16 norm + 4-byte block header, ${json.settings?.blockRows ?? 128}-row blocks); ` +
      `the code rate excludes the norm. Shannon's lower bound is 4^−b; Max (1960) gives 0.3634 / 0.1175 / 0.03454 / 0.009497 for the scalar Lloyd–Max quantizer of a Gaussian at 1–4 bits.\n\n` +
      `${table}${llamaTable}\n\n${machineCaption(json, this.file)}`
    );
  },
};

const kernels: TableRenderer = {
  name: "kernels",
  file: "kernels.json",
  render(json) {
    const attention = (json.attention as ResultJson[]).filter((row) => row.backend === "wasm" && row.millisecondsPerStep !== null);
    const dense = (row: ResultJson) => attention.find((other) => other.format === "dense fp32" && other.dimension === row.dimension && other.tokens === row.tokens);
    const attentionTable = markdownTable(
      ["d", "tokens", "format", "MB read / step", "ms / step", "GB/s", "/ read ceiling", "G multiply-adds/s", "/ SIMD ceiling", "dense ms / this ms"],
      attention.map((row) => [
        String(row.dimension),
        String(row.tokens),
        row.format,
        fixed(row.megabytesRead, 1),
        fixed(row.millisecondsPerStep, 3),
        row.bytesReadPerSecond ? fixed(row.bytesReadPerSecond / 1e9, 2) : "–",
        fixed(row.fractionOfReadCeiling, 2),
        row.multiplyAddsPerSecond ? fixed(row.multiplyAddsPerSecond / 1e9, 2) : "–",
        fixed(row.fractionOfSimdCeiling, 2),
        row.format === "dense fp32" ? "–" : ratio(dense(row)?.millisecondsPerStep, row.millisecondsPerStep, 2, 3),
      ]),
      "rrlrrrrrrr",
    );
    const coding = (json.coding as ResultJson[]).filter((row) => row.backend === "wasm");
    const tsRow = (row: ResultJson) => (json.coding as ResultJson[]).find((other) => other.backend === "ts" && other.format === row.format && other.dimension === row.dimension);
    const codingTable = markdownTable(
      ["d", "format", "decode M vectors/s", "GB/s moved", "/ copy ceiling", "wasm / ts (M vectors/s)"],
      coding.map((row) => [
        String(row.dimension),
        row.format,
        fixed(row.decodeVectorsPerSecond / 1e6, 2),
        row.decodeBytesMovedPerSecond ? fixed(row.decodeBytesMovedPerSecond / 1e9, 2) : "–",
        fixed(row.decodeFractionOfCopyCeiling, 2),
        ratio(row.decodeVectorsPerSecond / 1e6, tsRow(row)?.decodeVectorsPerSecond / 1e6, 1, 2),
      ]),
      "rlrrrr",
    );
    return (
      `WASM SIMD backend, one thread, ${json.headCount} heads, decode-step attention over resident pages${json.quick ? " (quick run: `KVPACK_BENCH_QUICK=1`)" : ""}. ` +
      `GB/s = K and V bytes read per step over its time; multiply-adds are the nominal 2·d per cached token and head (q·k and p·v; a table lookup counts as one). ` +
      `A fraction near 1 of the read ceiling means bandwidth-bound, near 1 of the SIMD ceiling compute-bound; above 1 means the working set fits in the CPU caches (the ceiling streams from DRAM).\n\n${attentionTable}\n\n` +
      `Decode into resident memory (codes + norms read, fp32 written):\n\n${codingTable}\n\n${machineCaption(json, this.file)}`
    );
  },
};

const runtime: TableRenderer = {
  name: "runtime",
  file: "runtime.json",
  render(json) {
    const rows = (json.rows as ResultJson[]).filter((row) => row.vectorKernels === "host");
    const caches = [...new Set(rows.map((row) => row.cache as string))];
    const engines = [...new Set(rows.map((row) => `${row.runtime}|${row.backend}`))];
    const baseline = (cache: string) => rows.find((row) => row.runtime === "LlamaRuntime" && row.cache === cache)?.tokensPerSecond;
    const table = markdownTable(
      ["runtime", ...caches.map((cache) => `${cache} cache: tokens/s, as × LlamaRuntime (this / LlamaRuntime)`)],
      engines.map((engine) => {
        const [name, backend] = engine.split("|");
        return [
          name === "LlamaRuntime" ? "`LlamaRuntime` (synchronous TypeScript, baseline)" : `\`${name}\` on ${backend}`,
          ...caches.map((cache) => {
            const row = rows.find((entry) => `${entry.runtime}|${entry.backend}` === engine && entry.cache === cache);
            if (!row) return "–";
            return name === "LlamaRuntime" ? fixed(row.tokensPerSecond, 0) : ratio(row.tokensPerSecond, baseline(cache), 2, 0);
          }),
        ];
      }),
    );
    const same = (json.rows as ResultJson[]).every((row) => row.sameIdsAsLlamaRuntime);
    return `${json.model}, ${json.generatedTokens} greedy tokens, vector kernels on the host, best of ${json.trials} interleaved trials; ${same ? "every row produced the same ids" : "NOT every row produced the same ids"}:\n\n${table}\n\n${machineCaption(json, this.file)}`;
  },
};

/** bench:server's real-shape part (`realShape` in server.json): sessions held, aggregate decode, time to first token per tier. */
function renderRealShape(real: ResultJson): string {
  const rows = real.rows as ResultJson[];
  const dense = rows.find((row) => row.kv === "fp16");
  const model = real.model;
  const table = markdownTable(
    ["KV cache", `sessions held in ${(real.budgetBytes / 2 ** 20).toFixed(0)} MiB`, "× fp16 (this / fp16)", "aggregate decode tok/s", "TTFT cold", "TTFT warm: memory", "disk", "Redis"],
    rows.map((row) => [
      row.kv,
      String(row.sessionsHeld),
      ratio(row.sessionsHeld, dense?.sessionsHeld, 1, 0),
      fixed(row.aggregateDecodeTokensPerSecond, 2),
      `${fixed(row.timeToFirstTokenMs.cold, 0)} ms`,
      `${fixed(row.timeToFirstTokenMs.memory, 0)} ms`,
      `${fixed(row.timeToFirstTokenMs.disk, 0)} ms`,
      `${fixed(row.timeToFirstTokenMs.redis, 0)} ms`,
    ]),
  );
  const conversations = (real.twoProcesses as ResultJson[] | undefined) ?? [];
  const continued = conversations.length
    ? ` A conversation started on one process and continued on a second that shares only Redis: ${conversations.map((row) => `${row.kv} reused ${row.reusedTokens} of ${row.promptTokens} prompt tokens (prefix_source ${row.prefixSource})`).join("; ")}.`
    : "";
  const quick = real.quick ? " **Quick run** (`KVPACK_BENCH_QUICK=1`, shorter prompts in a smaller budget; not the issue's 2,048-token setting), on a machine shared with other jobs." : "";
  return (
    `Real shape (run ${String(real.createdAt ?? "").slice(0, 10)}${real.machine ? ` on ${real.machine.cpu}, ${real.machine.cores} cores, Node ${real.machine.node}` : ""}): random-weight ${model.shape}-shape GGUF ${model.weights} (${model.layers} layers, ${model.kvHeads} KV heads × ${model.headDim}), ` +
    `${real.promptTokens}-token prompts, one ${(real.budgetBytes / 2 ** 20).toFixed(0)} MiB KV budget; ${real.settings.decodeStreams} streams decode at once on the shared prompt.${quick}\n\n${table}\n\n` +
    `Warm times to first token reuse the prompt's prefix pages from the named tier (memory: the same process; disk / Redis: a fresh process).${continued}`
  );
}

const server: TableRenderer = {
  name: "server",
  file: "server.json",
  render(json) {
    const load = json.load.rows as ResultJson[];
    const capacity = json.capacity.rows as ResultJson[];
    const denseAdmitted = capacity.find((row) => String(row.configuration).startsWith("dense"))?.admitted;
    const table = markdownTable(
      ["KV cache", `tokens/s (${json.load.concurrency} streams)`, "KV bytes per session", "× less than dense (dense / this)", `sessions admitted in ${(json.capacity.budgetBytes / 2 ** 20).toFixed(0)} MiB`, "× dense (this / dense)"],
      load.map((row) => {
        const admitted = capacity.find((entry) => entry.configuration === row.configuration)?.admitted;
        return [
          row.configuration,
          fixed(row.tokensPerSecond, 0),
          fixed(row.kvBytesPerSession, 0),
          ratio(row.denseKvBytesPerSession, row.kvBytesPerSession, 2, 0),
          String(admitted ?? "–"),
          ratio(admitted, denseAdmitted, 1, 0),
        ];
      }),
    );
    const quick = json.quick ? ` (quick run, \`KVPACK_BENCH_QUICK=1\`: at most ${json.capacity.attempts} sessions are attempted, so a row that admits them all is a lower bound)` : "";
    const stories = `${json.model}, ${json.load.requests} requests of ${json.load.maxTokens} tokens on 127.0.0.1${quick}:\n\n${table}`;
    const realShape = json.realShape ? `\n\n${renderRealShape(json.realShape)}` : "";
    return `${stories}\n\n${machineCaption(json, this.file)}${realShape}`;
  },
};

const familyNames: Record<string, string> = { fibquant: "FibQuant", turboquant: "TurboQuant", kivi: "KIVI", quarot: "QuaRot", "llama.cpp": "llama.cpp" };

const perplexity: TableRenderer = {
  name: "perplexity",
  file: "perplexity.json",
  render(json) {
    const settings = json.settings ?? {};
    const results = (json.results as ResultJson[]).filter((row) => row.residualWindow === 0);
    const models = [...new Set(results.map((row) => row.model as string))];
    const families = Object.keys(familyNames).filter((family) => results.some((row) => row.family === family && row.budget !== null));
    const dense = (json.dense as ResultJson[]).map((row) => `${row.model} **${row.perplexity.toFixed(4)}** (${row.tokens} tokens)`).join(", ");
    const cell = (row: ResultJson | undefined) => {
      if (!row) return "–";
      const interval = row.perplexityDeltaInterval as [number, number] | undefined;
      return `${row.perplexityDelta.toFixed(3)}${interval ? ` [${interval[0].toFixed(3)}, ${interval[1].toFixed(3)}]` : ""} (${row.bitsPerElement.toFixed(2)} b)`;
    };
    const budgetRows: string[][] = [];
    for (const model of models) {
      for (const budget of settings.budgets ?? []) {
        budgetRows.push([model, `${budget} bits (${(16 / budget).toFixed(1)}× vs fp16)`, ...families.map((family) => cell(results.find((row) => row.model === model && row.budget === budget && row.family === family)))]);
      }
    }
    const budgetTable = markdownTable(["model", "budget", ...families.map((family) => `${familyNames[family]} Δppl${results.some((row) => row.perplexityDeltaInterval) ? " [95 % interval]" : ""}`)], budgetRows, "ll" + "r".repeat(families.length));
    const baselines = results.filter((row) => row.budget === null);
    const baselineTable = markdownTable(
      ["model", "cache", "bits all-in", "ppl (dense ppl)", "Δppl", "KL", "top-1 agreement"],
      baselines.map((row) => {
        const interval = row.perplexityDeltaInterval as [number, number] | undefined;
        const delta = `${significant(row.perplexityDelta)}${interval ? ` [${significant(interval[0])}, ${significant(interval[1])}]` : ""}`;
        return [row.model, row.label, row.bitsPerElement.toFixed(3), `${row.perplexity.toFixed(4)} (${(row.perplexity - row.perplexityDelta).toFixed(4)})`, delta, significant(row.klDivergence), row.top1Agreement.toFixed(4)];
      }),
      "llrrrrr",
    );
    const comparisons = (json.comparisons as ResultJson[] | undefined)?.filter((entry) => entry.pairedDifferences) ?? [];
    const claims = comparisons.length
      ? `\n\nPaired bootstrap over held-out stories (95 % interval of Δppl(A) − Δppl(B)); "beats" only where the interval excludes 0:\n\n${markdownTable(
          ["model", "budget", "A", "B", "difference [95 % interval]", "verdict"],
          comparisons.flatMap((entry) =>
            (entry.pairedDifferences as ResultJson[]).map((pair) => [entry.model, String(entry.budgetBitsPerElement), familyNames[pair.a] ?? pair.a, familyNames[pair.b] ?? pair.b, `${pair.difference.toFixed(3)} [${pair.interval[0].toFixed(3)}, ${pair.interval[1].toFixed(3)}]`, pair.interval[1] < 0 ? `${familyNames[pair.a] ?? pair.a} beats ${familyNames[pair.b] ?? pair.b}` : pair.interval[0] > 0 ? `${familyNames[pair.b] ?? pair.b} beats ${familyNames[pair.a] ?? pair.a}` : "no claim"]),
          ),
          "lrllrl",
        )}`
      : results.some((row) => row.perStory)
        ? "\n\nNo two families were measured at one budget in this file, so no family is said to beat another."
        : "\n\nThis file has no per-story numbers, so there are no intervals: the table ranks nothing, and no family is said to beat another.";
    // Paired with q4_0 from the rows' per-story sums (the same function eval-perplexity writes versusLlamaCppQ4_0 with).
    const q4_0Rows = models.flatMap((model) => {
      const reference = results.find((row) => row.model === model && row.budget === null && row.label === "llama.cpp q4_0");
      if (!reference?.perStory) return [];
      const q4_0 = `${reference.perplexityDelta.toFixed(3)}${reference.perplexityDeltaInterval ? ` [${reference.perplexityDeltaInterval[0].toFixed(3)}, ${reference.perplexityDeltaInterval[1].toFixed(3)}]` : ""} (${reference.bitsPerElement.toFixed(3)} b)`;
      return (settings.budgets ?? []).flatMap((budget: number) => {
        const runs = results.filter((row) => row.model === model && row.budget === budget && (row.family === "fibquant" || row.family === "turboquant"));
        return compareWithReference(reference as ScoredRun, runs as ScoredRun[]).withinReferenceBits.map((pair) => {
          const name = familyNames[pair.family] ?? pair.family;
          const verdict = pair.verdict === "beats" ? `${name} beats q4_0` : pair.verdict === "loses" ? `q4_0 beats ${name}` : "no claim";
          return [model, String(budget), `${name} ${pair.label}`, `${pair.perplexityDelta.toFixed(3)} (${pair.bitsPerElement.toFixed(3)} b)`, q4_0, `${pair.difference.toFixed(3)} [${pair.interval[0].toFixed(3)}, ${pair.interval[1].toFixed(3)}]`, verdict];
        });
      });
    });
    const q4_0Table = q4_0Rows.length
      ? `\n\nAgainst llama.cpp's q4_0 cache (K and V q4_0, a fixed rate, on the same held-out stories): each budget's FibQuant and TurboQuant configuration, none costing more all-in bits than q4_0; paired bootstrap 95 % interval of Δppl(row) − Δppl(q4_0):\n\n${markdownTable(
          ["model", "budget", "configuration", "Δppl (bits)", "q4_0 Δppl [95 % interval] (bits)", "difference [95 % interval]", "verdict"],
          q4_0Rows,
          "lrlrrrl",
        )}`
      : "";
    return (
      `Dense-cache perplexity on TinyStories validation stories 1–${json.dense?.[0]?.stories ?? "?"}: ${dense}.\n\n` +
      `Compressed caches at matched **all-in** budgets (codes + norms + block means + scales + block headers, keys and values averaged; pages of ${settings.pageSize} tokens, ` +
      `no full-precision window beyond the partial last page). Each family's key/value split and norm format is chosen on ${settings.calibrationStories} calibration stories, ` +
      `then measured on the next ${settings.heldOutStories}; each cell is Δppl (all-in bits of the chosen configuration):\n\n${budgetTable}${claims}${q4_0Table}\n\n` +
      `Fixed-rate caches on the same held-out stories:\n\n${baselineTable}\n\n${machineCaption(json, this.file)}`
    );
  },
};

/** The 5-bit budget on BabyLlama alone, a separate run of eval-perplexity with the same settings (`--budgets 5 --models babyllama`). */
const perplexityBabyllama5Bit: TableRenderer = { ...perplexity, name: "perplexity-babyllama-5bit", file: "perplexity-babyllama-5bit.json" };

const frontier: TableRenderer = {
  name: "frontier",
  file: "frontier.json",
  render(json) {
    const captures = (json.captures as ResultJson[]).map((capture) => `${capture.model} (head_dim ${capture.shape.headDim}, ${capture.sequences.length} sequences, ${(capture.sequences as ResultJson[]).reduce((sum, sequence) => sum + sequence.tokens, 0)} tokens)`).join(", ");
    const intro = `Attention output on captured real KV (${captures}; ${json.settings?.queryPositionsPerSequence} query positions per sequence, every layer and head, pages of ${json.settings?.pageSize}, every token compressed).`;
    const comparisons = (json.versusLlamaCppQ4_0 as ResultJson[] | undefined) ?? [];
    if (comparisons.length === 0) return `${intro} This file has no llama.cpp rows, so nothing is compared with q4_0 (rerun \`pnpm eval:fidelity\`).\n\n${machineCaption(json, this.file)}`;
    const metrics: [string, (value: number) => string][] = [["attentionCosine", (value) => value.toFixed(5)], ["cosineP01", (value) => value.toFixed(4)], ["scoreMse", (value) => significant(value)], ["kl", (value) => significant(value)]];
    const rows = comparisons.flatMap((entry) => {
      const reference = entry.reference as ResultJson;
      const referenceRow = [entry.model, `llama.cpp ${reference.label} (${reference.bitsPerElement.toFixed(3)} b)`, ...metrics.map(([metric, format]) => format(reference[metric]))];
      const familyRows = Object.entries(entry.bestPerFamily as Record<string, ResultJson | null>)
        .filter((pair): pair is [string, ResultJson] => pair[1] !== null)
        .map(([family, best]) => [entry.model, `best ${family} at ≤ q4_0's bits`, ...metrics.map(([metric, format]) => `${format(best[metric].value)} (${best[metric].label}, ${best[metric].bitsPerElement.toFixed(2)} b)${best[metric].beats ? ", **better**" : ", worse"}`)]);
      return [referenceRow, ...familyRows];
    });
    const table = markdownTable(["model", "configuration", "attention cosine (mean, higher is better)", "cosine 1st percentile", "score MSE", "KL (nats)"], rows, "llrrrr");
    return (
      `${intro} llama.cpp's q4_0 cache (K and V q4_0) against each family's best configuration costing no more all-in bits than it, metric by metric ` +
      `(one run, no interval; "better" is strictly better than q4_0's value):\n\n${table}\n\n${machineCaption(json, this.file)}`
    );
  },
};

const policyNames: Array<[string, string]> = [
  ["streaming-llm", "StreamingLLM"], ["h2o", "H2O"], ["tova", "TOVA"], ["snapkv", "SnapKV"], ["pyramidkv", "PyramidKV"], ["arkvale", "ArkVale (recall)"],
  ["arkvale-no-recall", "ArkVale (no recall)"], ["shadowkv", "ShadowKV"], ["mikv", "MiKV"], ["zipcache", "ZipCache"], ["antkv", "AnTKV"],
];

const policies: TableRenderer = {
  name: "policies",
  file: "policies.json",
  render(json) {
    const rows = json.rows as ResultJson[];
    const sets = [...new Set(rows.map((row) => `${row.model}|${row.dataset}`))].sort();
    const at = rows.filter((row) => row.codec === "fp16" && row.budget === 0.5);
    const table = markdownTable(
      ["policy", ...sets.map((set) => set.replace("|", " ").replace("-long", ""))],
      policyNames
        .filter(([policy]) => at.some((row) => row.policy === policy))
        .map(([policy, label]) => [label, ...sets.map((set) => {
          const row = at.find((entry) => entry.policy === policy && `${entry.model}|${entry.dataset}` === set);
          return row ? `${row.klDivergence.toFixed(3)} / ${row.residentFractionOfFp16.toFixed(2)}` : "–";
        })]),
    );
    const matched = (json.arkvaleVersusStreamingLlm as ResultJson[]).filter((row) => row.codec === "fp16");
    const matchedTable = markdownTable(
      ["model", "text", "mean resident bytes ArkVale / StreamingLLM", "mean abs Δppl ArkVale / StreamingLLM", "KL ArkVale / StreamingLLM"],
      matched.map((row) => [row.model, row.dataset.replace("-long", ""), `${row.matchedBytes.toFixed(0)} / ${row.streamingBytes.toFixed(0)}`, `${row.matchedAbsoluteDeltaMean.toFixed(3)} / ${row.streamingAbsoluteDeltaMean.toFixed(3)}`, `${row.matchedKl.toFixed(3)} / ${row.streamingKl.toFixed(3)}`]),
      "llrrr",
    );
    return (
      `KL(dense ‖ run) of the next-token distribution / resident bytes as a fraction of an fp16 cache; fp16 codes, 50 % token budget, ${json.settings?.windowsPerSet} windows per model and text:\n\n${table}\n\n` +
      `ArkVale (recall) against StreamingLLM at 50 % with ArkVale's token budget lowered until its mean resident bytes match StreamingLLM's (means over the windows; fp16):\n\n${matchedTable}\n\n` +
      `Details, the quantized codecs and ArkVale's original setting: [packages/policies/README.md](packages/policies/README.md#measurements).\n\n${machineCaption(json, this.file)}`
    );
  },
};

const vsLlamaCpp: TableRenderer = {
  name: "vs-llama-cpp",
  file: "vs-llama-cpp.json",
  render(json) {
    const rows = json.rows as ResultJson[];
    const reference = (row: ResultJson) => rows.find((other) => other.engine === "llama.cpp" && other.kv === "f16" && other.weights === row.weights && other.context === row.context);
    const table = markdownTable(
      ["weights", "engine", "KV", "context", "decode tok/s", "÷ llama.cpp f16 KV (this / that)", "prefill tok/s", "peak RSS MB", "KV bytes / token"],
      rows.map((row) => [
        row.weights,
        row.engine,
        row.kv,
        String(row.context),
        fixed(row.decodeTokensPerSecond, 2),
        row.engine === "llama.cpp" && row.kv === "f16" ? "–" : ratio(row.decodeTokensPerSecond, reference(row)?.decodeTokensPerSecond, 2, 2),
        fixed(row.prefillTokensPerSecond, 1),
        fixed(row.peakRssBytes / 1e6, 0),
        fixed(row.kvBytesPerToken, 0),
      ]),
      "lllrrrrrr",
    );
    const model = json.model ?? {};
    const weightTypes = [...new Set(rows.map((row) => row.weights as string))].join(" and ");
    const pending = json.complete === false ? `- **Incomplete run**: still to run when it stopped: ${(json.pendingJobs as string[]).join(", ")}.\n` : "";
    const notes = pending + ((json.notes ?? []) as string[]).map((note) => `- ${note}\n`).join("");
    return (
      `Random-weight ${model.shape} shape (vocab ${model.vocabSize}, head_dim ${model.headDim}), written by kvpack as ${weightTypes} GGUF; ${json.threads} thread(s) for both engines; ` +
      `${json.decodeSteps} decode steps per point${json.trials > 1 ? `, each rate the median of ${json.trials} timed trials` : ""}${json.quick ? " (quick run, `KVPACK_BENCH_QUICK=1`)" : ""}. Method: ${json.method}\n\n${table}\n\n${notes ? `${notes}\n` : ""}${machineCaption(json, this.file)}`
    );
  },
};

export const tableRenderers: readonly TableRenderer[] = [codecs, kernels, runtime, server, perplexity, perplexityBabyllama5Bit, frontier, policies, vsLlamaCpp];
