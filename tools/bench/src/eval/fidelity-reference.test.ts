import { describe, expect, it } from "vitest";
import { compareFidelityWithReference, type FidelityPoint } from "./fidelity-reference.js";

/** Hand-made points: the expected winners below follow from these numbers alone. */
const point = (codec: string, label: string, bitsPerElement: number, attentionCosine: number, kl: number): FidelityPoint => ({ codec, label, bitsPerElement, attentionCosine, cosineP01: attentionCosine - 0.1, scoreMse: kl * 10, kl });

describe("compareFidelityWithReference", () => {
  const reference = point("llama.cpp", "q4_0", 5.0625, 0.99, 0.002);

  it("takes each family's best point per metric among those within the reference's bits", () => {
    const points = [
      reference,
      point("TurboQuant", "tq4", 4.5, 0.995, 0.003), // best cosine within bits, but worse KL than q4_0
      point("TurboQuant", "tq3", 3.5, 0.98, 0.001), // lowest KL within bits
      point("TurboQuant", "tq5", 5.5, 0.9999, 0.0001), // over the reference's bits: ignored
    ];
    const comparison = compareFidelityWithReference(reference, points, ["TurboQuant", "KIVI"]);
    const turboquant = comparison.bestPerFamily.TurboQuant;
    expect(turboquant?.attentionCosine).toMatchObject({ label: "tq4", value: 0.995, referenceValue: 0.99, beats: true });
    expect(turboquant?.kl).toMatchObject({ label: "tq3", value: 0.001, beats: true });
    expect(turboquant?.scoreMse.label).toBe("tq3");
    expect(comparison.bestPerFamily.KIVI).toBeNull();
    expect(comparison.reference).toMatchObject({ label: "q4_0", bitsPerElement: 5.0625, kl: 0.002 });
  });

  it("does not call a tie a win", () => {
    const comparison = compareFidelityWithReference(reference, [point("TurboQuant", "same", 5.0625, 0.99, 0.002)], ["TurboQuant"]);
    expect(comparison.bestPerFamily.TurboQuant?.attentionCosine.beats).toBe(false);
    expect(comparison.bestPerFamily.TurboQuant?.kl.beats).toBe(false);
  });
});
