// Worker side of measure-ceilings.ts, plain JavaScript so worker_threads can start it without a TS loader.
// Each kernel: wait at a barrier (all threads start together), then repeat passes for the time budget;
// posts the median pass rate of each kernel.
import { parentPort, workerData } from "node:worker_threads";

const { wasmBytes, bufferBytes, milliseconds, barrier, threads, chains } = workerData;
const gate = new Int32Array(barrier);

function waitForAll() {
  const generation = Atomics.load(gate, 1);
  if (Atomics.add(gate, 0, 1) === threads - 1) {
    Atomics.store(gate, 0, 0);
    Atomics.add(gate, 1, 1);
    Atomics.notify(gate, 1);
  } else {
    while (Atomics.load(gate, 1) === generation) Atomics.wait(gate, 1, generation);
  }
}

/** Median over passes of units/second, where one pass does `units` units; one warm-up pass first. */
function rate(units, pass) {
  pass();
  const rates = [];
  const started = performance.now();
  while (performance.now() - started < milliseconds || rates.length < 3) {
    const begin = performance.now();
    pass();
    rates.push((units * 1000) / (performance.now() - begin));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

let sink = 0;
const half = bufferBytes / 2;
const js = new Float64Array(bufferBytes / 8);
for (let index = 0; index < js.length; index += 512) js[index] = index; // touch every page
const jsSource = js.subarray(0, half / 8);
const jsTarget = js.subarray(half / 8);
const wasm = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes)).exports;
new Uint8Array(wasm.memory.buffer).fill(1, 0, bufferBytes);
const iterations = 1 << 20;

const results = {};
waitForAll();
results.jsRead = rate(bufferBytes, () => {
  let a = 0, b = 0, c = 0, d = 0;
  for (let index = 0; index < js.length; index += 4) {
    a += js[index];
    b += js[index + 1];
    c += js[index + 2];
    d += js[index + 3];
  }
  sink += a + b + c + d;
});
waitForAll();
// Copy moves half the buffer: bytes counted as read + written (STREAM's convention), i.e. bufferBytes per pass.
results.jsCopy = rate(bufferBytes, () => {
  for (let index = 0; index < jsSource.length; index++) jsTarget[index] = jsSource[index];
});
waitForAll();
results.wasmRead = rate(bufferBytes, () => {
  sink += wasm.read(0, bufferBytes);
});
waitForAll();
results.wasmCopy = rate(bufferBytes, () => wasm.copy(half, 0, half));
waitForAll();
results.wasmMultiplyAdd = rate(iterations * chains * 4, () => {
  sink += wasm.multiplyAdd(iterations);
});
parentPort.postMessage({ results, sink });
