import { createHash } from "node:crypto";
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadLlama2cCheckpoint, loadLlama2cTokenizer, sentencePieceTokenizerJson, writeLlamaGguf, writeLlamaModelFolder, writeSafetensorsLlama } from "@kvpack/adapters";
import { mkdirSync } from "node:fs";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createServer } from "../src/app.js";
import { parseServerConfig } from "../src/config/load-config.js";
import { loadServedModel } from "../src/model/load-served-model.js";
import { modelsDataDirectory, postJson, readReference, temporaryDirectory } from "./test-server.js";

interface Reference {
  prompt: string;
  greedy_text: string;
  greedy_token_ids: number[];
  prompt_token_ids: number[];
}

/** Starts a server on `model`, runs a greedy fp32 completion of the reference prompt, stops it. */
async function greedyContinuation(model: Record<string, unknown>, reference: Reference): Promise<{ text: string; id: string }> {
  const config = parseServerConfig({ host: "127.0.0.1", port: 0, logLevel: "silent", model, kv: { diskEnabled: false } });
  const server = await createServer(config);
  try {
    const baseUrl = await server.listen();
    const generated = reference.greedy_token_ids.length - reference.prompt_token_ids.length;
    const response = await postJson(baseUrl, "/v1/completions", {
      model: server.context.model.id,
      prompt: reference.prompt,
      max_tokens: generated,
      temperature: 0,
      kvpack: { codec: "fp32" },
    });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    return { text: response.json.choices[0].text, id: server.context.model.id };
  } finally {
    await server.close();
  }
}

describe("models chosen by configuration", () => {
  it("serves a Hugging Face model folder (stories260K as config.json + tokenizer.json + model.safetensors) with the reference's greedy text", async () => {
    const weights = loadLlama2cCheckpoint(readFileSync(path.join(modelsDataDirectory, "stories260K.bin")));
    const tokenizer = loadLlama2cTokenizer(readFileSync(path.join(modelsDataDirectory, "tok512.bin")), weights.config.vocabSize);
    const tokenizerJson = sentencePieceTokenizerJson({
      pieces: Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.piece(id)),
      scores: Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.score(id)),
    });
    const folder = path.join(temporaryDirectory("hf-folder"), "stories260K-hf");
    mkdirSync(folder, { recursive: true });
    for (const [name, bytes] of writeLlamaModelFolder(weights, { tokenizerJson })) writeFileSync(path.join(folder, name), bytes);
    const reference = readReference();
    const result = await greedyContinuation({ path: folder }, reference);
    expect(result.id).toBe("stories260K-hf");
    expect(result.text).toBe(reference.greedy_text.slice(reference.prompt.length));
  });

  it("serves another llama2.c model with its own tokenizer (BabyLlama tok105) and matches its reference", async () => {
    const reference = JSON.parse(readFileSync(path.join(modelsDataDirectory, "babyllama-tok105-model5000.reference.json"), "utf8")) as Reference;
    const result = await greedyContinuation(
      { path: path.join(modelsDataDirectory, "babyllama-tok105-model5000.bin"), tokenizerPath: path.join(modelsDataDirectory, "tok105.bin") },
      reference,
    );
    expect(result.id).toBe("babyllama-tok105-model5000");
    expect(result.text).toBe(reference.greedy_text.slice(reference.prompt.length));
  });

  it("serves a GGUF file (stories260K written as F32 GGUF with its tokenizer) with the same greedy text", async () => {
    // Same tensor naming and metadata as llama.cpp; no general.name, so the model id comes from the file name.
    const weights = loadLlama2cCheckpoint(readFileSync(path.join(modelsDataDirectory, "stories260K.bin")));
    const tokenizer = loadLlama2cTokenizer(readFileSync(path.join(modelsDataDirectory, "tok512.bin")), weights.config.vocabSize);
    const bytes = writeLlamaGguf(weights, tokenizer);
    const file = path.join(temporaryDirectory("gguf"), "stories260K.gguf");
    writeFileSync(file, bytes);
    const reference = readReference();
    const result = await greedyContinuation({ path: file }, reference);
    expect(result.id).toBe("stories260K");
    expect(result.text).toBe(reference.greedy_text.slice(reference.prompt.length));
    // The file is read through a byte source and hashed as a stream; the fingerprint (Redis page keys) is still the first 16 hex of its bytes' SHA-256.
    const config = parseServerConfig({ host: "127.0.0.1", port: 0, logLevel: "silent", model: { path: file }, kv: { diskEnabled: false } });
    expect((await loadServedModel(config.model)).fingerprint).toBe(createHash("sha256").update(bytes).digest("hex").slice(0, 16));
  });

  it("runs a GGUF on the WASM kernel runtime with batched prefill; two concurrent requests each get their single-run text", async () => {
    const weights = loadLlama2cCheckpoint(readFileSync(path.join(modelsDataDirectory, "stories260K.bin")));
    const tokenizer = loadLlama2cTokenizer(readFileSync(path.join(modelsDataDirectory, "tok512.bin")), weights.config.vocabSize);
    const file = path.join(temporaryDirectory("gguf"), "stories260K.gguf");
    writeFileSync(file, writeLlamaGguf(weights, tokenizer));
    // Prompts of over one 64-token prefill batch each, so the two requests' batches interleave.
    const prompts = [
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. One day, she saw a big tree in the park. She wanted to climb it, but her mom said no. Lily was sad, so she sat under the tree and",
      "Tom had a red ball. He liked to throw it high in the sky. His friend Sam came to play with him in the park. They threw the ball back and forth all day. Then the ball went over the fence into the garden of an old man, and",
    ];
    /** A fresh server (no prefix pages from earlier requests) answering `prompts` one after another or all at once. */
    const texts = async (together: boolean): Promise<string[]> => {
      const config = parseServerConfig({ host: "127.0.0.1", port: 0, logLevel: "silent", model: { path: file }, kv: { diskEnabled: false } });
      const server = await createServer(config);
      try {
        expect(server.context.model.prefill).toBeDefined();
        const baseUrl = await server.listen();
        const complete = async (prompt: string) => {
          const response = await postJson(baseUrl, "/v1/completions", { model: "stories260K", prompt, max_tokens: 24, temperature: 0, kvpack: { codec: "fp32" } });
          expect(response.json.usage.prompt_tokens).toBeGreaterThan(64);
          expect(response.json.kvpack.reused_tokens).toBe(0);
          return response.json.choices[0].text as string;
        };
        if (together) return await Promise.all(prompts.map(complete));
        const out: string[] = [];
        for (const prompt of prompts) out.push(await complete(prompt));
        return out;
      } finally {
        await server.close();
      }
    };
    expect(await texts(true)).toEqual(await texts(false));
  });

  it("serves a Hugging Face safetensors Llama (config.json beside it, llama2.c tokenizer by flag) with the same greedy text", async () => {
    // stories260K in LlamaForCausalLM layout: q/k rows permuted for rotate_half RoPE, as HF checkpoints store them.
    const weights = loadLlama2cCheckpoint(readFileSync(path.join(modelsDataDirectory, "stories260K.bin")));
    const { file, config } = writeSafetensorsLlama(weights);
    const directory = temporaryDirectory("safetensors");
    writeFileSync(path.join(directory, "model.safetensors"), file);
    writeFileSync(path.join(directory, "config.json"), JSON.stringify(config));
    const reference = readReference();
    const result = await greedyContinuation({ path: path.join(directory, "model.safetensors"), tokenizerPath: path.join(modelsDataDirectory, "tok512.bin"), id: "stories-hf" }, reference);
    expect(result.id).toBe("stories-hf");
    expect(result.text).toBe(reference.greedy_text.slice(reference.prompt.length));
  });

  it("fails start-up with a clear error for a missing model or a missing tokenizer", async () => {
    const missing = parseServerConfig({ logLevel: "silent", model: { path: "/nonexistent/model.bin", tokenizerPath: "/nonexistent/tok.bin" } });
    await expect(createServer(missing)).rejects.toThrow(/cannot read model/);
    // A model alone in its folder: no --tokenizer and no tokenizer.bin beside it.
    const lonely = path.join(temporaryDirectory("lonely"), "model.bin");
    copyFileSync(path.join(modelsDataDirectory, "stories260K.bin"), lonely);
    const noTokenizer = parseServerConfig({ logLevel: "silent", model: { path: lonely } });
    await expect(createServer(noTokenizer)).rejects.toThrow(/needs a tokenizer/);
  });
});
