import { buildCodebookView } from "../engine/codebook-data.js";
import { toPlainError } from "../engine/plain-error.js";
import type { WorkerRequest, WorkerResponse } from "./protocol.js";

/** The parts of the dedicated worker scope used here (the DOM lib, not the WebWorker lib, is loaded). */
interface WorkerScope {
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

const scope = self as unknown as WorkerScope;

// Builds FibQuant codebooks for the codebook view, one request at a time; Lloyd iterations on
// thousands of codewords take seconds, so they run apart from the model worker.
scope.addEventListener("message", (event) => {
  const request = event.data;
  if (request.type !== "codebook") return;
  try {
    const label = `${request.blockSize}-D codebook at ${request.bits} bits`;
    scope.postMessage({ type: "progress", task: "codebook", done: 0, total: 1, label: `Building the ${label}…` }, []);
    let reported = 0;
    const view = buildCodebookView(request.blockSize, request.bits, (fraction, stage) => {
      // Lloyd reports often; a message per 5 % is plenty for a progress bar.
      if (fraction - reported < 0.05 && fraction < 1) return;
      reported = fraction;
      scope.postMessage({ type: "progress", task: "codebook", done: fraction, total: 1, label: `Building the ${label}: ${stage}…` }, []);
    });
    scope.postMessage({ type: "codebook", blockSize: request.blockSize, bits: request.bits, size: view.size, codewords: view.codewords }, [view.codewords.buffer]);
  } catch (error) {
    const plain = toPlainError(error);
    scope.postMessage({ type: "error", task: "codebook", message: plain.message, detail: plain.detail }, []);
  }
});
