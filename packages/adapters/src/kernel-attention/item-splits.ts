// How many work items WasmPageAttention cuts each lane group of a split layer into.

/**
 * Items per lane group when a layer is split: about `itemsPerThread` per thread, raised until the
 * layer's item count is a multiple of the thread count (3 groups on 2 threads: 4 each, 12 items, 6
 * per thread, where 3 each left one thread an item more; measured ~6–9 % on a 16K-row layer), and
 * at most `limit` (rows / minimumItemRows).
 */
export function itemSplits(groupCount: number, threads: number, itemsPerThread: number, limit: number): number {
  let splits = Math.ceil((itemsPerThread * threads) / groupCount);
  for (let raised = splits; raised < splits + threads; raised++) {
    if ((groupCount * raised) % threads === 0) {
      splits = raised;
      break;
    }
  }
  return Math.max(1, Math.min(splits, limit));
}
