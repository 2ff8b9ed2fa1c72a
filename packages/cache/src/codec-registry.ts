import type { Codec, CodecSpec } from "@kvpack/codecs";
import * as codecs from "@kvpack/codecs";
import { CacheConfigurationError } from "./errors.js";

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

function defaultFactory(): CodecFactory | undefined {
  // `createCodec` is looked up at run time so this package builds against any codecs version.
  const create = (codecs as Record<string, unknown>).createCodec;
  return typeof create === "function" ? (create as CodecFactory) : undefined;
}

/**
 * Memoized codec instances by spec. Codec instances are stateless between calls, so one registry
 * can serve many caches (a `CachePool`) and building a codec's tables happens once.
 */
export class CodecRegistry {
  private readonly factory: CodecFactory | undefined;
  private readonly bySpec = new Map<string, Codec>();
  private readonly byId = new Map<string, Codec>();

  constructor(factory?: CodecFactory) {
    this.factory = factory ?? defaultFactory();
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
    if (!this.factory) {
      throw new CacheConfigurationError(
        `no codec factory: pass a CodecFactory to CodecRegistry (or codec instances) to build ${JSON.stringify(choice)}`,
      );
    }
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
