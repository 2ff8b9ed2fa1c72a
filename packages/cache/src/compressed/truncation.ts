import type { EncodedBlock } from "@kvpack/codecs";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerState } from "./layer-storage.js";
import { type Page, positionAt } from "./page.js";
import type { RowDecoder } from "./row-decoder.js";

/**
 * Drops every position ≥ target of one layer. A cut inside the residual window just shortens it;
 * a cut inside the pages frees the later pages and moves the survivors of the cut page back into
 * the residual window (decoded), so appending resumes exactly at `target`. `forget` releases each
 * freed page (tier copies, attention backends).
 */
export function truncateLayer(layout: CacheLayout, state: LayerState, target: number, decoder: RowDecoder, forget: (page: Page) => void): void {
  if (target >= state.length) return;
  const { headDim, pageSize, kvHeads, flushAt } = layout;
  if (target >= state.residualStart) {
    const keep = target - state.residualStart;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const base = kvHead * flushAt;
      state.residualLive.fill(0, base + keep, base + flushAt);
      state.residualTainted.fill(0, base + keep, base + flushAt);
    }
    state.residualCount = keep;
    state.length = target;
    return;
  }
  const newStart = Math.floor(target / pageSize) * pageSize;
  const keep = target - newStart;
  for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
    const base = kvHead * flushAt;
    state.residualLive.fill(0, base, base + flushAt);
    state.residualTainted.fill(0, base, base + flushAt);
    const pages = state.pages[kvHead];
    let firstRemoved = pages.length;
    while (firstRemoved > 0 && pages[firstRemoved - 1].firstPosition >= newStart) firstRemoved--;
    const cutPage = pages[firstRemoved];
    if (keep > 0 && cutPage !== undefined && cutPage.firstPosition === newStart && cutPage.location !== "offloaded") {
      for (const segment of cutPage.segments) {
        const count = segment.count;
        const keys = decoder.keys(segment.keyCodec, segment.keys as EncodedBlock, count);
        const values = decoder.values(segment.valueCodec, segment.values as EncodedBlock, count);
        for (let i = 0; i < count; i++) {
          const offsetInPage = positionAt(segment, i) - newStart;
          if (offsetInPage >= keep || !segment.live[i]) continue;
          const rowIndex = base + offsetInPage;
          state.residualKeys.set(keys.subarray(i * headDim, (i + 1) * headDim), rowIndex * headDim);
          state.residualValues.set(values.subarray(i * headDim, (i + 1) * headDim), rowIndex * headDim);
          state.residualLive[rowIndex] = 1;
          // Rows of a changed page (merged, re-encoded, mixed precision) are not what their tokens produce.
          state.residualTainted[rowIndex] = cutPage.pristine ? 0 : 1;
        }
      }
    }
    // Survivors of an offloaded cut page cannot be read synchronously: they count as dropped.
    for (let i = firstRemoved; i < pages.length; i++) forget(pages[i]);
    pages.length = firstRemoved;
  }
  state.residualStart = newStart;
  state.residualCount = keep;
  state.length = target;
}
