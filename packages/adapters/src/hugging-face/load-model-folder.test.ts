import { rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { type ModelReference, readModelsData, readModelsDataJson } from "../model/test-models-data.js";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { LanguageModelRuntime } from "../runtime/language-model-runtime.js";
import { SeededRandom } from "../generation/seeded-random.js";
import { loadSafetensorsGpt2 } from "../safetensors/load-safetensors-gpt2.js";
import { writeSafetensors } from "../safetensors/safetensors-file.js";
import { loadModelFolder } from "./load-model-folder.js";
import { gpt2TokenizerJson } from "./write-tokenizer-json.js";
import { createModelFolderRuntime } from "./model-folder-runtime.js";
import { jsonBytes, parseJsonFile, stories260KFolder, writeFolderToDisk } from "./test-model-folders.js";

const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");

function greedy(runtime: LanguageModelRuntime, prompt: readonly number[], steps: number): { ids: number[]; logits: Float32Array[] } {
  const cache = createDenseCache(runtime);
  const ids = [...prompt];
  const logits: Float32Array[] = [];
  let last: Float32Array = new Float32Array(0);
  for (let position = 0; position < prompt.length; position++) last = runtime.forward(prompt[position], position, cache);
  for (let step = 0; step < steps; step++) {
    logits.push(last.slice());
    let best = 0;
    for (let i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
    ids.push(best);
    last = runtime.forward(best, ids.length - 1, cache);
  }
  return { ids, logits };
}

async function rejects(files: Map<string, Uint8Array>, pattern: RegExp): Promise<void> {
  const error = await loadModelFolder(files).then(() => undefined, (caught: unknown) => caught);
  expect(ModelFormatError.isInstance(error), String(error)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}

describe("loadModelFolder on stories260K written as a Hugging Face folder", () => {
  it("reads a directory: tokenizer ids, generation defaults and 64 greedy tokens equal to the llama2.c checkpoint's", async () => {
    const directory = writeFolderToDisk(stories260KFolder());
    try {
      const folder = await loadModelFolder(directory);
      expect(folder.architecture).toBe("llama");
      expect(folder.generation.eosTokenIds).toEqual([2]);
      expect(folder.tokenizer.encode(reference.prompt)).toEqual(reference.prompt_token_ids); // add_bos from the post-processor
      const prompt = reference.prompt_token_ids;
      const ours = greedy(createModelFolderRuntime(folder), prompt, 64);
      const checkpoint = greedy(new LlamaRuntime(loadLlama2cCheckpoint(readModelsData("stories260K.bin"))), prompt, 64);
      // F32 safetensors and the q/k permutation round trip are exact, so the logits are bit-identical.
      expect(ours.ids).toEqual(checkpoint.ids);
      ours.logits.forEach((logits, step) => expect(logits).toEqual(checkpoint.logits[step]));
      // The reference's greedy ids (run.c semantics) stop at BOS; our run continues past it.
      expect(ours.ids.slice(0, reference.greedy_token_ids.length)).toEqual(reference.greedy_token_ids);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("reads a folder URL over HTTP (files fetched relative to it, a 404 is a missing file) and a dropped folder's File names", async () => {
    const files = stories260KFolder();
    const requested: string[] = [];
    const server = createServer((request, response) => {
      const name = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname).replace(/^\/models\/stories\//, "");
      requested.push(name);
      const bytes = files.get(name);
      if (bytes) response.writeHead(200).end(bytes);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const folder = await loadModelFolder(`http://127.0.0.1:${port}/models/stories`);
      expect(folder.tokenizer.encode(reference.prompt)).toEqual(reference.prompt_token_ids);
      expect(requested).toContain("model.safetensors");
      expect(requested).toContain("chat_template.jinja"); // looked for, 404: no template
    } finally {
      server.close();
    }
    // A dropped folder: File objects whose names carry the folder's own name.
    const dropped = new Map([...files].map(([name, bytes]) => [`stories260K/${name}`, new File([bytes], name)]));
    expect((await loadModelFolder(dropped)).tokenizer.encode(reference.prompt)).toEqual(reference.prompt_token_ids);
  });

  it("reads a map of files with F16 weights: same greedy tokens, logits within 4e-2 of fp32", async () => {
    const prompt = reference.prompt_token_ids;
    const fp32 = greedy(createModelFolderRuntime(await loadModelFolder(stories260KFolder())), prompt, 64);
    const fp16 = greedy(createModelFolderRuntime(await loadModelFolder(stories260KFolder({ dtype: "F16" }))), prompt, 64);
    expect(fp16.ids).toEqual(fp32.ids);
    // Tolerance: F16 rounds each weight by ≤ 2^-11 relative (4.9e-4); stories260K's logits reach
    // |logit| ≈ 15 through 5 layers, so ≈ 15 · 4.9e-4 · 5 ≈ 4e-2 bounds the drift (measured 1.3e-2).
    let worst = 0;
    fp16.logits.forEach((logits, step) => logits.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - fp32.logits[step][i])))));
    console.log(`stories260K F16 vs F32 safetensors: max |Δlogit| ${worst.toExponential(2)} over 64 steps`);
    expect(worst).toBeLessThan(4e-2);
    expect(worst).toBeGreaterThan(0);
  });

  it("applies rope_scaling (llama3, linear) from config.json and refuses other kinds naming the field", async () => {
    const llama3 = { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    const scaled = await loadModelFolder(stories260KFolder({ config: { rope_scaling: llama3 } }));
    expect(scaled.weights.kind === "llama" && scaled.weights.description.rope).toEqual({
      style: "interleaved",
      freqBase: 10000,
      scaling: { kind: "llama3", factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64 },
    });
    const linear = await loadModelFolder(stories260KFolder({ config: { rope_scaling: { type: "linear", factor: 2 } } }));
    expect(linear.weights.kind === "llama" && linear.weights.description.rope.scaling).toEqual({ kind: "linear", factor: 2 });
    // Scaled rotations change what the model computes (the runtime reads the description's rope).
    const prompt = reference.prompt_token_ids;
    const plain = greedy(createModelFolderRuntime(await loadModelFolder(stories260KFolder())), prompt, 1).logits[0];
    expect(greedy(createModelFolderRuntime(linear), prompt, 1).logits[0]).not.toEqual(plain);
    await rejects(stories260KFolder({ config: { rope_scaling: { rope_type: "dynamic", factor: 2 } } }), /config\.json: rope_scaling\.rope_type "dynamic" is not supported/);
  });
});

describe("loadModelFolder on GPT-2 and chat templates", () => {
  it("a random GPT-2 checkpoint with GPT-2's tokenizer.json: the weights of loadSafetensorsGpt2 and a runtime", async () => {
    const random = new SeededRandom(3);
    const [dim, layers, vocab, positions] = [8, 2, 50257, 16];
    const tensor = (shape: number[]) => ({ dtype: "F32" as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random.nextFloat() - 0.5) });
    const tensors: Record<string, ReturnType<typeof tensor>> = { "wte.weight": tensor([vocab, dim]), "wpe.weight": tensor([positions, dim]), "ln_f.weight": tensor([dim]), "ln_f.bias": tensor([dim]) };
    for (let layer = 0; layer < layers; layer++) {
      const p = `h.${layer}.`;
      Object.assign(tensors, {
        [`${p}ln_1.weight`]: tensor([dim]), [`${p}ln_1.bias`]: tensor([dim]), [`${p}ln_2.weight`]: tensor([dim]), [`${p}ln_2.bias`]: tensor([dim]),
        [`${p}attn.c_attn.weight`]: tensor([dim, 3 * dim]), [`${p}attn.c_attn.bias`]: tensor([3 * dim]), [`${p}attn.c_proj.weight`]: tensor([dim, dim]), [`${p}attn.c_proj.bias`]: tensor([dim]),
        [`${p}mlp.c_fc.weight`]: tensor([dim, 4 * dim]), [`${p}mlp.c_fc.bias`]: tensor([4 * dim]), [`${p}mlp.c_proj.weight`]: tensor([4 * dim, dim]), [`${p}mlp.c_proj.bias`]: tensor([dim]),
      });
    }
    const config = { model_type: "gpt2", n_embd: dim, n_layer: layers, n_head: 2, vocab_size: vocab, n_positions: positions, bos_token_id: 50256, eos_token_id: 50256 };
    const encoder = JSON.parse(new TextDecoder().decode(readModelsData("gpt2-encoder.json"))) as Record<string, number>;
    const merges = new TextDecoder().decode(readModelsData("gpt2-vocab.bpe")).split("\n");
    const checkpoint = writeSafetensors(tensors);
    const files = new Map([["config.json", jsonBytes(config)], ["tokenizer.json", jsonBytes(gpt2TokenizerJson(encoder, merges))], ["model.safetensors", checkpoint]]);
    const folder = await loadModelFolder(files);
    expect(folder.architecture).toBe("gpt2");
    expect(folder.weights.kind === "gpt2" && folder.weights.weights).toEqual(loadSafetensorsGpt2(checkpoint, config));
    expect(folder.tokenizer.encode("Hello world")).toEqual([15496, 995]);
    expect(folder.generation.eosTokenIds).toEqual([50256]);
    expect(createModelFolderRuntime(folder).architecture).toBe("gpt2");
  });

  it("renders tokenizer_config.json's chat_template with the folder's BOS / EOS text", async () => {
    const template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";
    const folder = await loadModelFolder(stories260KFolder({ tokenizerConfig: { bos_token: "<s>", eos_token: "</s>", chat_template: template } }));
    const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }];
    const rendered = folder.chatTemplate!.render(messages, { bosToken: folder.tokenizer.tokenText("bos_token"), eosToken: folder.tokenizer.tokenText("eos_token") });
    expect(rendered).toBe("<s>[system] Be brief.</s>[user] Hi</s>[assistant]");
    expect((await loadModelFolder(stories260KFolder())).chatTemplate).toBeUndefined();
    await rejects(stories260KFolder({ tokenizerConfig: { chat_template: "{% if %}" } }), /tokenizer_config\.json: chat_template: the chat template does not parse/);
  });
});

describe("loadModelFolder refuses bad folders with a ModelFormatError naming the file and field", () => {
  it("a missing file", async () => {
    for (const name of ["config.json", "tokenizer.json"]) {
      const files = stories260KFolder();
      files.delete(name);
      await rejects(files, new RegExp(`has no ${name.replace(".", "\\.")}`));
    }
    const files = stories260KFolder();
    files.delete("model.safetensors");
    await rejects(files, /has no weights: none of model\.safetensors, model\.safetensors\.index\.json, onnx\/model\.onnx/);
  });

  it("an unsupported architecture or activation", async () => {
    const files = stories260KFolder();
    files.set("config.json", jsonBytes({ ...parseJsonFile(files, "config.json"), model_type: "mamba" }));
    await rejects(files, /config\.json: model_type "mamba" is not supported/);
    files.set("config.json", jsonBytes({ ...parseJsonFile(files, "config.json"), model_type: "llama", hidden_act: "relu" }));
    await rejects(files, /config\.json: hidden_act "relu" is not supported/);
  });

  it("a tensor whose shape contradicts config.json", async () => {
    const files = stories260KFolder();
    files.set("config.json", jsonBytes({ ...parseJsonFile(files, "config.json"), intermediate_size: 96 }));
    await rejects(files, /model\.safetensors: safetensors tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[\d+, 64\], expected \[96, 64\]/);
  });

  it("a tokenizer with more ids than vocab_size", async () => {
    const files = stories260KFolder();
    files.set("config.json", jsonBytes({ ...parseJsonFile(files, "config.json"), vocab_size: 256 }));
    await rejects(files, /tokenizer\.json has 512 token ids but config\.json vocab_size is 256/);
  });

  it("shards listed in model.safetensors.index.json that are missing", async () => {
    const files = stories260KFolder();
    files.set("model.safetensors.index.json", jsonBytes({ weight_map: { "model.embed_tokens.weight": "model-00001-of-00002.safetensors" } }));
    files.delete("model.safetensors");
    await rejects(files, /has no model-00001-of-00002\.safetensors \(listed in model\.safetensors\.index\.json weight_map\)/);
  });
});
