import { PageStateError } from "../errors.js";
import type { LayerStorage } from "./layer-storage.js";
import type { Page, Segment } from "./page.js";
import type { PageEncoder } from "./page-encoder.js";

/**
 * Copy-on-write fork of the stored rows: the child gets its own page objects (ids, live masks,
 * digests, locations) over the parent's encoded blocks, which are never written in place (every
 * change encodes a new block), so both caches read one copy of the codes until either changes a
 * page. The residual window is copied (it is small and written every step).
 */
export function forkStorage(parent: LayerStorage, child: LayerStorage, childEncoder: PageEncoder): void {
  parent.layers.forEach((from, layer) => {
    const to = child.layers[layer];
    to.length = from.length;
    to.residualStart = from.residualStart;
    to.residualCount = from.residualCount;
    to.residualKeys.set(from.residualKeys);
    to.residualValues.set(from.residualValues);
    to.residualLive.set(from.residualLive);
    to.residualTainted.set(from.residualTainted);
    to.pages = from.pages.map((pages) => pages.map((page) => forkPage(page, childEncoder)));
  });
}

function forkPage(page: Page, encoder: PageEncoder): Page {
  if (page.location === "offloading") throw new PageStateError(`fork: page ${page.id} is being offloaded; await settled() first`);
  if (page.location === "offloaded" && page.storeKey?.startsWith("kvpack:session:")) {
    // The parent may delete its private copy at any time: the child could never recall it.
    throw new PageStateError(`fork: page ${page.id} is offloaded to a session-private key; recall it first`);
  }
  return {
    id: encoder.nextId(),
    layer: page.layer,
    kvHead: page.kvHead,
    firstPosition: page.firstPosition,
    segments: page.segments.map(forkSegment),
    digest: page.digest.length > 0 ? page.digest.slice() : page.digest,
    location: page.location,
    storeKey: page.storeKey,
    tier: page.tier,
    pristine: page.pristine,
    version: 0,
    revision: 0,
  };
}

function forkSegment(segment: Segment): Segment {
  // Shared all-live masks stay shared (copied on the first drop); private masks are copied now.
  return { ...segment, live: segment.liveShared ? segment.live : segment.live.slice() };
}
