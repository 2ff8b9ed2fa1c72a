import type { CodecKind } from "@kvpack/codecs";
import { codecKinds, codecRates, defaultCompression, fibQuantBlockSizes, policyLabels, type CompressionSettings } from "../engine/compression-settings.js";
import type { SamplingSettings } from "../worker/protocol.js";
import { element, field, panel, selectOf } from "./dom.js";

const codecNames: Record<CodecKind, string> = {
  fp16: "fp16 (reference)",
  fibquant: "FibQuant (vector codebook)",
  turboquant: "TurboQuant",
  kivi: "KIVI",
  quarot: "QuaRot int4",
  int8: "int8",
  fp32: "fp32 (no compression)",
};

export interface ControlsPanel {
  readonly promptPanel: HTMLElement;
  readonly compressionPanel: HTMLElement;
  readonly generateButton: HTMLButtonElement;
  readonly stopButton: HTMLButtonElement;
  prompt(): string;
  sampling(): SamplingSettings;
  compression(): CompressionSettings;
}

function numberInput(value: number, testId: string, attributes: { min?: number; max?: number; step?: number } = {}): HTMLInputElement {
  return element("input", { type: "number", value: String(value), "data-testid": testId, ...attributes });
}

function rateOptions(codec: CodecKind): Array<[string, string]> {
  return [...codecRates[codec]].sort((a, b) => a - b).map((rate) => [String(rate), `${rate} bits`]);
}

/** The prompt, sampling and compression controls; `onCompressionChange` fires on any compression edit. */
export function createControlsPanel(onCompressionChange: () => void, onGenerate: () => void, onStop: () => void): ControlsPanel {
  const promptBox = element("textarea", { rows: 3, value: "Once upon a time", "data-testid": "prompt" });
  const steps = numberInput(64, "steps", { min: 2, max: 4096, step: 1 });
  const temperature = numberInput(0, "temperature", { min: 0, max: 2, step: 0.1 });
  const topK = numberInput(0, "top-k", { min: 0, step: 1 });
  const topP = numberInput(0.9, "top-p", { min: 0.05, max: 1, step: 0.05 });
  const seed = numberInput(42, "seed", { min: 0, step: 1 });
  const generateButton = element("button", { class: "button", "data-testid": "generate", disabled: true, onclick: onGenerate }, ["Generate"]);
  const stopButton = element("button", { class: "button secondary", "data-testid": "stop", disabled: true, onclick: onStop }, ["Stop"]);

  // Opens on a compressed codec: on stories260K TurboQuant 4/4 with centred keys holds 64 tokens in
  // 2.55× less than fp16, and its greedy text stays the fp16 text for 57 of 60 generated tokens.
  const codec = selectOf(
    codecKinds.map((kind) => [kind, codecNames[kind]] as const),
    defaultCompression.codec,
    "codec",
  );
  const keyBits = selectOf(rateOptions(defaultCompression.codec), String(defaultCompression.keyBits), "key-bits");
  const valueBits = selectOf(rateOptions(defaultCompression.codec), String(defaultCompression.valueBits), "value-bits");
  const blockSize = selectOf(
    fibQuantBlockSizes.map((size) => [String(size), `${size}`] as const),
    "2",
    "block-size",
  );
  const policy = selectOf([["none", "keep every token"], ...Object.entries(policyLabels)], "none", "policy");
  const budget = numberInput(48, "budget", { min: 4, step: 4 });
  const blockField = field("FibQuant block size k", blockSize, "codewords = 2^(k·bits)");
  const budgetField = field("Token budget", budget, "tokens kept per KV head");
  const centerKeys = element("input", { type: "checkbox", checked: true, "data-testid": "center-keys" });
  const centerField = element("label", { class: "checkbox-field" }, [centerKeys, " Centre keys (subtract each page's per-channel key mean)"]);

  const refreshRates = () => {
    const kind = codec.value as CodecKind;
    for (const select of [keyBits, valueBits]) {
      const previous = select.value;
      select.replaceChildren(...rateOptions(kind).map(([value, label]) => element("option", { value }, [label])));
      select.value = codecRates[kind].includes(Number(previous)) ? previous : String(codecRates[kind][0]);
      select.disabled = codecRates[kind].length === 1;
    }
    blockField.hidden = kind !== "fibquant";
    centerField.hidden = kind !== "fibquant" && kind !== "turboquant";
    budgetField.hidden = policy.value === "none";
  };
  codec.addEventListener("change", () => {
    refreshRates();
    onCompressionChange();
  });
  for (const control of [keyBits, valueBits, blockSize, budget, centerKeys]) control.addEventListener("change", onCompressionChange);
  policy.addEventListener("change", () => {
    refreshRates();
    onCompressionChange();
  });
  refreshRates();

  const promptPanel = panel("Prompt", "prompt-panel", [
    field("Prompt", promptBox),
    element("div", { class: "row" }, [field("Steps", steps, "positions incl. prompt"), field("Temperature", temperature, "0 = greedy")]),
    element("div", { class: "row" }, [field("Top-k", topK, "0 = off"), field("Top-p", topP)]),
    field("Seed", seed, "dense and compressed runs share it"),
    element("div", { class: "buttons" }, [generateButton, stopButton]),
  ]);
  const compressionPanel = panel("KV compression", "compression-panel", [
    field("Codec", codec),
    element("div", { class: "row" }, [field("Key rate", keyBits), field("Value rate", valueBits)]),
    blockField,
    centerField,
    field("Policy", policy),
    budgetField,
  ]);

  const readNumber = (input: HTMLInputElement, fallback: number) => (Number.isFinite(input.valueAsNumber) ? input.valueAsNumber : fallback);
  return {
    promptPanel,
    compressionPanel,
    generateButton,
    stopButton,
    prompt: () => promptBox.value,
    sampling: () => ({
      steps: Math.round(readNumber(steps, 64)),
      temperature: readNumber(temperature, 0),
      topK: Math.round(readNumber(topK, 0)),
      topP: readNumber(topP, 1),
      seed: Math.round(readNumber(seed, 42)),
    }),
    compression: () => ({
      codec: codec.value as CodecKind,
      keyBits: Number(keyBits.value),
      valueBits: Number(valueBits.value),
      blockSize: Number(blockSize.value),
      policy: policy.value,
      budget: Math.round(readNumber(budget, 48)),
      centerKeys: centerKeys.checked,
    }),
  };
}
