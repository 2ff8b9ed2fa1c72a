import { ArkValePolicy } from "@kvpack/policies";
import type { EvaluationModel } from "../eval/models-data.js";
import { policyRun } from "./policy-run.js";
import type { ArkValeSetting } from "./settings.js";
import { mean } from "./result-row.js";
import type { CodecCase } from "./cases.js";
import type { DenseReference, RunTotals } from "./run-totals.js";

/** Budget fractions already matched per model × set × codec × digest format (bytes hardly depend on the ranking). */
const matchedFractionCache = new Map<string, number>();

/**
 * Runs ArkVale (with recall) at the largest token budget whose mean resident bytes are at most
 * `target` (StreamingLLM's). Bytes grow about affinely with the budget: secant steps from a 50 %
 * run, keeping the best run at or under the target (within 0.2 %).
 */
export async function bytesMatchedArkVale(
  model: EvaluationModel,
  sequences: number[][],
  references: DenseReference[],
  codec: CodecCase,
  setting: ArkValeSetting,
  target: number,
): Promise<{ fraction: number; totals: RunTotals }> {
  const run = (fraction: number) =>
    policyRun(model, sequences, references, codec, () => new ArkValePolicy({ ...setting.options, budget: { fraction, minimum: 4 } }), setting.keyDigestFormat);
  const bytesOf = (totals: RunTotals) => totals.residentBytesSum / totals.steps;
  const key = `${model.name} ${sequences.length} ${sequences[0]?.slice(0, 8).join(",")} ${codec.name} ${setting.keyDigestFormat}`;
  const points: { fraction: number; bytes: number; totals: RunTotals }[] = [];
  let fraction = matchedFractionCache.get(key) ?? 0.5;
  for (let attempt = 0; attempt < 5; attempt++) {
    const totals = await run(fraction);
    points.push({ fraction, bytes: bytesOf(totals), totals });
    const under = points.filter((point) => point.bytes <= target * 1.002);
    const best = under.length > 0 ? under.reduce((a, b) => (b.bytes > a.bytes ? b : a)) : undefined;
    if (best !== undefined && best.bytes >= target * 0.99) break;
    // Secant through the two latest points (or proportional from one).
    const [previous, latest] = points.length >= 2 ? points.slice(-2) : [undefined, points[0]];
    const next =
      previous !== undefined && previous.bytes !== latest.bytes
        ? latest.fraction + ((latest.fraction - previous.fraction) * (target * 0.997 - latest.bytes)) / (latest.bytes - previous.bytes)
        : (latest.fraction * target * 0.997) / latest.bytes;
    fraction = Math.min(0.5, Math.max(0.02, next));
    if (points.some((point) => Math.abs(point.fraction - fraction) < 1e-4)) break;
  }
  const under = points.filter((point) => point.bytes <= target * 1.002);
  const chosen = under.length > 0 ? under.reduce((a, b) => (b.bytes > a.bytes ? b : a)) : points.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  matchedFractionCache.set(key, chosen.fraction);
  return { fraction: chosen.fraction, totals: chosen.totals };
}
