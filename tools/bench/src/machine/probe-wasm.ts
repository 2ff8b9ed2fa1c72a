/**
 * A hand-assembled WASM module (no toolchain step) for the machine ceilings: a streaming v128 read,
 * a v128 load/store copy and a register-only f32x4 multiply-add loop. Each thread instantiates its own
 * copy, so every thread streams its own memory.
 *
 * Exports: memory; read(ptr, bytes) → i32 (OR of lane 0 of every 16-byte word, so the loads cannot be
 * dropped; bytes a positive multiple of 128); copy(dst, src, bytes) (a positive multiple of 64);
 * multiplyAdd(iterations) → f32, `probeChains` independent chains of acc = acc·m + c on f32x4 each iteration.
 */

/** Independent f32x4 accumulators in multiplyAdd: enough to cover mul + add latency on current x86 and Arm cores. */
export const probeChains = 12;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

const i32 = 0x7f;
const f32 = 0x7d;
const v128 = 0x7b;
const op = {
  localGet: (index: number) => [0x20, ...uleb(index)],
  localSet: (index: number) => [0x21, ...uleb(index)],
  localTee: (index: number) => [0x22, ...uleb(index)],
  i32Const: (value: number) => [0x41, ...sleb(value)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  f32Const: (value: number) => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)],
  load: (offset: number) => [0xfd, 0x00, 0x04, ...uleb(offset)], // v128.load, align 2^4
  store: (offset: number) => [0xfd, 0x0b, 0x04, ...uleb(offset)], // v128.store
  or: [0xfd, 0x50],
  i32x4ExtractLane0: [0xfd, 0x1b, 0x00],
  f32x4Splat: [0xfd, 0x13],
  f32x4ExtractLane0: [0xfd, 0x1f, 0x00],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
};

function body(locals: Array<[number, number]>, code: number[]): number[] {
  const content = [...vector(locals.map(([count, type]) => [...uleb(count), type])), ...code, ...op.end];
  return [...uleb(content.length), ...content];
}

/** read(ptr, bytes): 8 loads of 16 bytes per iteration into 4 accumulators. */
function readBody(): number[] {
  const [ptr, bytes, a0] = [0, 1, 2];
  const code: number[] = [...op.loop];
  for (let index = 0; index < 8; index++) {
    const accumulator = a0 + (index % 4);
    code.push(...op.localGet(accumulator), ...op.localGet(ptr), ...op.load(16 * index), ...op.or, ...op.localSet(accumulator));
  }
  code.push(...op.localGet(ptr), ...op.i32Const(128), ...op.i32Add, ...op.localSet(ptr));
  code.push(...op.localGet(bytes), ...op.i32Const(128), ...op.i32Sub, ...op.localTee(bytes), ...op.brIf(0), ...op.end);
  code.push(...op.localGet(a0), ...op.localGet(a0 + 1), ...op.or, ...op.localGet(a0 + 2), ...op.or, ...op.localGet(a0 + 3), ...op.or, ...op.i32x4ExtractLane0);
  return body([[4, v128]], code);
}

/** copy(dst, src, bytes): 4 × 16 bytes per iteration. */
function copyBody(): number[] {
  const [dst, src, bytes] = [0, 1, 2];
  const code: number[] = [...op.loop];
  for (let index = 0; index < 4; index++) code.push(...op.localGet(dst), ...op.localGet(src), ...op.load(16 * index), ...op.store(16 * index));
  for (const pointer of [dst, src]) code.push(...op.localGet(pointer), ...op.i32Const(64), ...op.i32Add, ...op.localSet(pointer));
  code.push(...op.localGet(bytes), ...op.i32Const(64), ...op.i32Sub, ...op.localTee(bytes), ...op.brIf(0), ...op.end);
  return body([], code);
}

/** multiplyAdd(iterations): probeChains chains of acc = acc·m + c, all in registers. */
function multiplyAddBody(): number[] {
  const iterations = 0;
  const multiplier = 1;
  const addend = 2;
  const first = 3;
  const code: number[] = [...op.f32Const(0.999999), ...op.f32x4Splat, ...op.localSet(multiplier), ...op.f32Const(1e-7), ...op.f32x4Splat, ...op.localSet(addend)];
  for (let chain = 0; chain < probeChains; chain++) code.push(...op.f32Const(chain), ...op.f32x4Splat, ...op.localSet(first + chain));
  code.push(...op.loop);
  for (let chain = 0; chain < probeChains; chain++) {
    code.push(...op.localGet(first + chain), ...op.localGet(multiplier), ...op.f32x4Mul, ...op.localGet(addend), ...op.f32x4Add, ...op.localSet(first + chain));
  }
  code.push(...op.localGet(iterations), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(iterations), ...op.brIf(0), ...op.end);
  code.push(...op.localGet(first));
  for (let chain = 1; chain < probeChains; chain++) code.push(...op.localGet(first + chain), ...op.f32x4Add);
  code.push(...op.f32x4ExtractLane0);
  return body([[2 + probeChains, v128]], code);
}

/** Module bytes with a memory of `pages` 64 KiB pages. */
export function probeWasmBytes(pages: number): Uint8Array {
  const types = section(1, vector([
    [0x60, ...vector([[i32], [i32]]), ...vector([[i32]])],
    [0x60, ...vector([[i32], [i32], [i32]]), ...vector([])],
    [0x60, ...vector([[i32]]), ...vector([[f32]])],
  ]));
  const functions = section(3, vector([[0], [1], [2]]));
  const memory = section(5, vector([[0x00, ...uleb(pages)]]));
  const exports = section(7, vector([
    [...name("memory"), 0x02, 0],
    [...name("read"), 0x00, 0],
    [...name("copy"), 0x00, 1],
    [...name("multiplyAdd"), 0x00, 2],
  ]));
  const code = section(10, vector([readBody(), copyBody(), multiplyAddBody()]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...functions, ...memory, ...exports, ...code]);
}

export interface ProbeExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  read(pointer: number, bytes: number): number;
  copy(destination: number, source: number, bytes: number): void;
  multiplyAdd(iterations: number): number;
}

/** The WebAssembly global, typed just enough here (this package's TS lib has no DOM/WebAssembly types). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: unknown };
}

/** Instantiates the probe synchronously (fine for a module this small). */
export function instantiateProbe(pages: number): ProbeExports {
  const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  return new api.Instance(new api.Module(probeWasmBytes(pages))).exports as ProbeExports;
}
