import type { Codec, CodecSpec } from "@kvpack/codecs";
import { createCodec } from "@kvpack/codecs";

export type CodecFactory = (spec: CodecSpec) => Codec;

/** A codec given either as a ready instance or as its plain JSON spec. */
export type CodecChoice = Codec | CodecSpec;

export function isCodec(choice: CodecChoice): choice is Codec {
  return typeof (choice as Codec).encode === "function";
}

/** Canonical JSON (sorted keys) so equal specs written in any key order share one codec. */
export function canonicalSpecKey(spec: CodecSpec): string {
  const record = spec as unknown as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return JSON.stringify(keys.map((key) => [key, record[key]]));
}

/**
 * Memoized codec instances by spec. Codec instances are stateless between calls, so one registry
 * can serve many caches (a `CachePool`) and building a codec's tables happens once.
 */
export class CodecRegistry {
  private readonly factory: CodecFactory;
  private readonly bySpec = new Map<string, Codec>();
  private readonly byId = new Map<string, Codec>();

  /** `factory` defaults to `createCodec` from @kvpack/codecs. */
  constructor(factory?: CodecFactory) {
    this.factory = factory ?? createCodec;
  }

  /** Returns the shared instance for `choice`; instances passed in are registered as they are. */
  get(choice: CodecChoice): Codec {
    if (isCodec(choice)) {
      this.register(choice);
      return choice;
    }
    const key = canonicalSpecKey(choice);
    const known = this.bySpec.get(key);
    if (known) return known;
    const codec = this.factory(choice);
    this.bySpec.set(key, codec);
    this.byId.set(codec.codecId, codec);
    return codec;
  }

  register(codec: Codec): void {
    const key = canonicalSpecKey(codec.spec as CodecSpec);
    if (!this.bySpec.has(key)) this.bySpec.set(key, codec);
    if (!this.byId.has(codec.codecId)) this.byId.set(codec.codecId, codec);
  }

  /** The registered codec with this id, if any (page records carry the id and the spec). */
  findById(codecId: string): Codec | undefined {
    return this.byId.get(codecId);
  }
}
