import { ModelFormatError } from "@kvpack/adapters";
import { describe, expect, it } from "vitest";
import { PlaygroundError, toPlainError } from "./plain-error.js";

describe("toPlainError", () => {
  it("explains a truncated model file without jargon and keeps the technical message as detail", () => {
    const plain = toPlainError(new ModelFormatError("llama2c-checkpoint", "truncated", "llama2.c checkpoint truncated: expected 1056540 bytes"));
    expect(plain.message).toMatch(/cut short/);
    expect(plain.detail).toMatch(/expected 1056540 bytes/);
  });

  it("names the file and the field of a bad model folder in the message itself", () => {
    const plain = toPlainError(new ModelFormatError("model-folder", "bad-metadata", "config.json: num_attention_heads must be a positive integer"));
    expect(plain.message).toBe("The model file's description (metadata) is incomplete or inconsistent. config.json: num_attention_heads must be a positive integer.");
  });

  it("recognises out-of-memory errors", () => {
    expect(toPlainError(new RangeError("Array buffer allocation failed")).message).toMatch(/ran out of memory/);
  });

  it("passes messages already written for people through unchanged", () => {
    expect(toPlainError(new PlaygroundError("Drop the tokenizer too.")).message).toBe("Drop the tokenizer too.");
  });

  it("wraps anything else", () => {
    expect(toPlainError("boom").message).toBe("Something went wrong: boom");
  });
});
