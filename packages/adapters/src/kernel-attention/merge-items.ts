import type { LayerAttentionRequest } from "@kvpack/cache";
// Types only: the kernels are loaded by createWasmPageAttention.
import type { AttendItemsLayout } from "@kvpack/kernels";
import type { GroupPlan, ItemScratch, LayerRecords } from "./attention-records.js";

/** Where a lane group's item results lie, and host scratch for merging them. */
export interface ItemMergeScratch {
  readonly layout: AttendItemsLayout;
  readonly items: readonly ItemScratch[];
  readonly slotTable: number;
  readonly itemTable: number;
  /** The group's score rows (weights exp(score − max_item) after the kernels). */
  readonly scores: number;
  /** Per item of the group and lane: exp(max_item − max), written here. */
  readonly factors: Float64Array;
  /** headDim floats each. */
  readonly sums: Float32Array;
  readonly finishScratch: Float32Array;
}

/** Merges the group's items: rescales each by exp(max_item − max), rotates each codec's sum back, adds the dense sums, normalizes. */
export function mergeGroupItems(
  request: LayerAttentionRequest, records: LayerRecords, plan: GroupPlan, scratch: ItemMergeScratch, f32: Float32Array, i32: Int32Array,
): void {
  const { headDim, out, weightsOut } = request;
  const { layout, items, slotTable, factors, sums } = scratch;
  const { slotWords } = layout;
  const used = layout.slot.used;
  const { firstItem, itemEnd, laneCount, firstHead } = plan;
  const slotCount = records.valueViews.length;
  const inverses = [0, 0, 0, 0];
  for (let lane = 0; lane < laneCount; lane++) {
    let maximum = -Infinity;
    for (let item = firstItem; item < itemEnd; item++) {
      const result = items[item].result >> 2;
      if (f32[result + 4 + lane] > 0) maximum = Math.max(maximum, f32[result + lane]);
    }
    let sum = 0;
    for (let item = firstItem; item < itemEnd; item++) {
      const result = items[item].result >> 2;
      const itemSum = f32[result + 4 + lane];
      const factor = itemSum > 0 ? Math.exp(f32[result + lane] - maximum) : 0;
      factors[(item - firstItem) * 4 + lane] = factor;
      sum += factor * itemSum;
    }
    inverses[lane] = sum > 0 ? 1 / sum : 0;
    out.fill(0, (firstHead + lane) * headDim, (firstHead + lane + 1) * headDim);
  }
  for (let k = 0; k < slotCount; k++) {
    const view = records.valueViews[k];
    let anyUsed = false;
    for (let item = firstItem; item < itemEnd && !anyUsed; item++) anyUsed = i32[(slotTable >> 2) + (item * slotCount + k) * slotWords + used] !== 0;
    if (!anyUsed) continue;
    for (let lane = 0; lane < laneCount; lane++) {
      sums.fill(0);
      for (let item = firstItem; item < itemEnd; item++) {
        if (i32[(slotTable >> 2) + (item * slotCount + k) * slotWords + used] === 0) continue;
        const factor = factors[(item - firstItem) * 4 + lane];
        const accumulator = (items[item].values.get(view.codec) as { accumulator: number }).accumulator >> 2;
        for (let i = 0; i < headDim; i++) sums[i] += factor * f32[accumulator + i * 4 + lane];
      }
      const finished = view.finish(sums, scratch.finishScratch);
      const target = (firstHead + lane) * headDim;
      for (let i = 0; i < headDim; i++) out[target + i] += finished[i];
    }
  }
  for (let lane = 0; lane < laneCount; lane++) {
    const target = (firstHead + lane) * headDim;
    for (let i = 0; i < headDim; i++) {
      let dense = 0;
      for (let item = firstItem; item < itemEnd; item++) dense += factors[(item - firstItem) * 4 + lane] * f32[(items[item].denseAccumulator >> 2) + i * 4 + lane];
      out[target + i] = (out[target + i] + dense) * inverses[lane];
    }
  }
  if (weightsOut !== undefined) writeWeights(request, records, plan, scratch, inverses, f32, i32);
}

/** weightsOut[head · length + position] = weight · factor / Σ for every row of the pages and the residual window. */
function writeWeights(
  request: LayerAttentionRequest, records: LayerRecords, plan: GroupPlan, scratch: ItemMergeScratch, inverses: readonly number[], f32: Float32Array, i32: Int32Array,
): void {
  const { length, residual } = request;
  const weightsOut = request.weightsOut as Float32Array;
  const pages = request.pages[plan.kvHead];
  const segmentsOf = records.residentByHead[plan.kvHead];
  const scores = scratch.scores >> 2;
  const { itemWords } = scratch.layout;
  const rowsWord = scratch.layout.item.rows;
  // Item boundaries by row: the rows of item i end at itemRowEnd.
  for (let lane = 0; lane < plan.laneCount; lane++) {
    const headBase = (plan.firstHead + lane) * length;
    let item = plan.firstItem;
    let itemRowEnd = i32[(scratch.itemTable >> 2) + item * itemWords + rowsWord];
    let scale = scratch.factors[lane] * inverses[lane];
    let row = 0;
    const weightOf = (): number => {
      while (row >= itemRowEnd && item + 1 < plan.itemEnd) {
        item++;
        itemRowEnd += i32[(scratch.itemTable >> 2) + item * itemWords + rowsWord];
        scale = scratch.factors[(item - plan.firstItem) * 4 + lane] * inverses[lane];
      }
      return f32[scores + row++ * 4 + lane] * scale;
    };
    for (let p = 0; p < pages.length; p++) {
      const segments = segmentsOf[p];
      if (segments === undefined) continue;
      const attended = pages[p].segments;
      for (let s = 0; s < segments.length; s++) {
        const { start, explicitPositions } = attended[s];
        const count = segments[s].count;
        for (let i = 0; i < count; i++) weightsOut[headBase + (explicitPositions === undefined ? start + i : explicitPositions[i])] = weightOf();
      }
    }
    for (let r = 0; r < residual.count; r++) weightsOut[headBase + residual.start + r] = weightOf();
  }
}
