import { compressionLabel } from "../engine/compression-settings.js";
import type { BackendName, FolderFile, ModelFile, WorkerResponse } from "../worker/protocol.js";
import { createCodebookWorker, createModelWorker, WorkerClient } from "../worker/worker-client.js";
import { createAttentionPanel } from "./attention-panel.js";
import { createCodebookPanel } from "./codebook-panel.js";
import { createControlsPanel } from "./controls-panel.js";
import { element, formatBytes, panel } from "./dom.js";
import { createFrontierPanel } from "./frontier-panel.js";
import { createMemoryPanel } from "./memory-panel.js";
import { createOutputPanel } from "./output-panel.js";
import { collectDroppedFiles, inputFiles, isModelFolder, type DroppedFile } from "./collect-dropped-files.js";
import { readFileWithProgress } from "./read-file-with-progress.js";

/** `?backend=wasm` (or ts, webgpu) forces the kernel backend; the default tries WebGPU, then WASM, then TS. */
export function preferredBackends(search: string): BackendName[] {
  const forced = new URLSearchParams(search).get("backend");
  if (forced === "webgpu") return ["webgpu"];
  if (forced === "wasm") return ["wasm", "ts"];
  if (forced === "ts") return ["ts"];
  return ["webgpu", "wasm", "ts"];
}

const backendDescriptions: Record<BackendName, string> = {
  webgpu: "WebGPU",
  wasm: "WASM",
  ts: "TypeScript (CPU)",
};

/** Builds the page and wires it to the model worker. */
export function createApp(root: HTMLElement): void {
  const worker = new WorkerClient(createModelWorker());
  const codebookWorker = new WorkerClient(createCodebookWorker());
  let modelReady = false;
  let modelLoaded = false;
  let generating = false;
  let hasGeneration = false;

  const backendBadge = element("span", { class: "badge", "data-testid": "backend" }, ["backend: starting…"]);
  const modelBadge = element("span", { class: "badge", "data-testid": "model-info" }, ["no model yet"]);
  const statusText = element("span", { "data-testid": "status" }, ["Starting the worker…"]);
  const progress = element("progress", { max: 1, value: 0, hidden: true });
  const errorBanner = element("div", { class: "error-banner", role: "alert", "data-testid": "error", hidden: true });
  const noticeBanner = element("div", { class: "notice-banner", role: "status", "data-testid": "notice", hidden: true });

  const showError = (message: string, detail: string) => {
    errorBanner.replaceChildren(
      element("button", { "aria-label": "dismiss", onclick: () => (errorBanner.hidden = true) }, ["×"]),
      element("strong", {}, [message]),
      element("details", {}, [element("summary", {}, ["details"]), detail]),
    );
    errorBanner.hidden = false;
  };

  const controls = createControlsPanel(
    () => {
      const settings = controls.compression();
      output.markStale(compressionLabel(settings));
      if (hasGeneration && !generating) {
        worker.post({ type: "compression", compression: settings });
      }
    },
    () => startGeneration(),
    () => worker.post({ type: "stop" }),
  );
  const output = createOutputPanel();
  const memory = createMemoryPanel();
  const frontier = createFrontierPanel(() => worker.post({ type: "frontier", compression: controls.compression() }));
  const attention = createAttentionPanel(() => {
    if (hasGeneration) worker.post({ type: "attention", ...attention.selection() });
  });
  const codebook = createCodebookPanel(() => codebookWorker.post({ type: "codebook", ...codebook.selection() }));

  const fileInput = element("input", { type: "file", multiple: true, hidden: true, "data-testid": "model-file" });
  // A Hugging Face folder chosen through the file dialog (the drop zone takes dropped folders directly).
  const folderInput = element("input", { type: "file", multiple: true, webkitdirectory: true, hidden: true, "data-testid": "model-folder" });
  const dropZone = element("div", { class: "drop-zone", "data-testid": "drop-zone" }, [
    "Drop a GGUF (llama, qwen2, qwen3, phi3, gemma2), a Hugging Face model folder (config.json, tokenizer.json, safetensors), a llama2.c .bin (+ tokenizer .bin) or an ONNX file here, or click to choose a file.",
  ]);
  const bundledButton = element("button", { class: "button secondary", "data-testid": "load-bundled", onclick: () => loadBundled() }, ["Load stories260K"]);
  const folderButton = element("button", { class: "button secondary", "data-testid": "choose-folder", onclick: () => folderInput.click() }, ["Choose a model folder…"]);
  const modelPanel = panel("Model", "model-panel", [dropZone, fileInput, folderInput, element("div", { class: "buttons", style: "margin-top:8px" }, [bundledButton, folderButton])]);

  const loadFiles = async (list: readonly DroppedFile[]) => {
    if (list.length === 0) return;
    const folder = isModelFolder(list);
    // Reading counts as the first half of the load; the worker reports parsing and uploading after it.
    const total = list.reduce((sum, { file }) => sum + file.size, 0);
    const names = folder ? `${list.length} files of ${list[0]!.path.includes("/") ? list[0]!.path.split("/")[0] : "the folder"}` : list.map(({ file }) => file.name).join(", ");
    const loadedPerFile = list.map(() => 0);
    const payload: FolderFile[] = [];
    for (const [index, { path, file }] of list.entries()) {
      const bytes = await readFileWithProgress(file, (loaded) => {
        loadedPerFile[index] = loaded;
        const read = loadedPerFile.reduce((sum, value) => sum + value, 0);
        setStatus(`Reading ${names}: ${formatBytes(read)} of ${formatBytes(total)}…`, total > 0 ? (0.5 * read) / total : 0);
      });
      payload.push({ path, bytes });
    }
    setModelReady(false);
    const transfer = payload.map((file) => file.bytes);
    if (folder) worker.post({ type: "load-folder", files: payload }, transfer);
    else worker.post({ type: "load-files", files: payload.map(({ path, bytes }): ModelFile => ({ name: path.split("/").at(-1) ?? path, bytes })) }, transfer);
  };
  const loadChosen = (input: HTMLInputElement) => {
    if (input.files) void loadFiles(inputFiles(input.files));
    input.value = "";
  };
  dropZone.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => loadChosen(fileInput));
  folderInput.addEventListener("change", () => loadChosen(folderInput));
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("dragging");
    if (!event.dataTransfer) return;
    collectDroppedFiles(event.dataTransfer).then(loadFiles, (error: unknown) => showError("The dropped folder could not be read.", String(error)));
  });

  root.replaceChildren(
    element("header", { class: "app-header" }, [
      element("h1", {}, ["kvpack playground"]),
      backendBadge,
      modelBadge,
      element("div", { class: "status" }, [progress, statusText]),
    ]),
    errorBanner,
    noticeBanner,
    element("div", { class: "layout" }, [
      element("aside", { class: "sidebar" }, [modelPanel, controls.promptPanel, controls.compressionPanel]),
      element("main", { class: "main" }, [output.root, element("div", { class: "panels" }, [memory.root, frontier.root, attention.root, codebook.root])]),
    ]),
  );

  function setStatus(text: string, fraction?: number) {
    statusText.textContent = text;
    progress.hidden = fraction === undefined;
    if (fraction !== undefined) progress.value = fraction;
  }

  function setModelReady(ready: boolean) {
    modelReady = ready;
    controls.generateButton.disabled = !ready || generating;
    bundledButton.disabled = generating;
  }

  function loadBundled() {
    setModelReady(false);
    setStatus("Loading stories260K…");
    worker.post({ type: "load-bundled" });
  }

  function startGeneration() {
    if (!modelReady || generating) return;
    errorBanner.hidden = true;
    generating = true;
    root.dataset.generation = "running";
    controls.generateButton.disabled = true;
    controls.stopButton.disabled = false;
    frontier.setBusy(true);
    const compression = controls.compression();
    output.start(controls.prompt(), compressionLabel(compression));
    worker.post({ type: "generate", prompt: controls.prompt(), sampling: controls.sampling(), compression });
  }

  function endGeneration() {
    generating = false;
    controls.stopButton.disabled = true;
    setModelReady(modelReady);
    frontier.setBusy(false);
  }

  codebookWorker.subscribe((message) => {
    if (message.type === "codebook") {
      codebook.update({ codewords: message.codewords, size: message.size, blockSize: message.blockSize }, message.bits);
      codebook.setProgress(undefined);
    } else if (message.type === "progress") {
      codebook.setProgress(message.done / Math.max(1e-9, message.total), message.label);
    } else if (message.type === "error") {
      codebook.setProgress(undefined);
      showError(message.message, message.detail);
    }
  });
  codebookWorker.post({ type: "codebook", ...codebook.selection() });

  worker.subscribe((message: WorkerResponse) => {
    switch (message.type) {
      case "ready": {
        const { backend } = message;
        backendBadge.textContent = `backend: ${backendDescriptions[backend.name]}`;
        backendBadge.className = `badge backend-${backend.name}`;
        backendBadge.dataset.backend = backend.name;
        backendBadge.title = [backend.detail, ...backend.skipped].join("\n");
        root.dataset.backend = backend.name;
        if (backend.skipped.length > 0) {
          noticeBanner.textContent = `${backend.skipped.map((reason) => reason.charAt(0).toUpperCase() + reason.slice(1)).join(". ")}. The model runs on ${backendDescriptions[backend.name]} instead, which is slower but gives the same text.`;
          noticeBanner.hidden = false;
        }
        loadBundled();
        break;
      }
      case "no-bundled-model":
        setStatus("No bundled model in this build: drop a model file to start.");
        break;
      case "model": {
        const { info } = message;
        modelBadge.textContent =
          info.format === "onnx"
            ? `${info.name} (ONNX, ONNX Runtime Web) · ${info.layers} layers · ${info.kvHeads} KV heads · head size ${info.headDim}`
            : `${info.name} · ${info.architecture} · ${info.layers} layers · ${info.heads} heads (${info.kvHeads} KV) · head size ${info.headDim} · ${(info.parameters / 1e3).toFixed(0)}K parameters`;
        attention.setModel(info);
        attention.clear(info.format === "onnx" ? "ONNX Runtime computes attention inside the model, so its weights are not visible." : "Generate text to see attention.");
        memory.clear();
        frontier.clear();
        delete root.dataset.frontier;
        hasGeneration = false;
        modelLoaded = true;
        root.dataset.model = info.name;
        setModelReady(true);
        setStatus(`Ready: ${info.name} (${info.format})`);
        break;
      }
      case "progress":
        // A dropped file's load continues after its reading (the first half of the bar).
        setStatus(message.label, message.total > 0 ? (message.task === "load" && message.done > 0 ? 0.5 + (0.5 * message.done) / message.total : message.done / message.total) : undefined);
        break;
      case "tokens":
        output.append(message.dense, message.compressed);
        break;
      case "generation-done": {
        endGeneration();
        hasGeneration = true;
        root.dataset.generation = "done";
        const divergence = message.firstDivergence < 0 ? "outputs identical" : `outputs differ from token ${message.firstDivergence}`;
        output.finish(`${message.tokens} tokens per side · ${message.tokensPerSecond.toFixed(1)} tokens/s (both sides) · ${divergence}${message.stopped ? " · stopped" : ""}`, message.firstDivergence);
        setStatus("Done");
        worker.post({ type: "attention", ...attention.selection() });
        worker.post({ type: "frontier", compression: controls.compression() });
        break;
      }
      case "memory":
        memory.update(message.report);
        root.dataset.memoryLabel = message.report.label;
        break;
      case "frontier":
        frontier.update(message.entries, message.tokens, message.skipped);
        root.dataset.frontier = "done";
        setStatus("Done");
        break;
      case "unavailable":
        if (message.panel === "frontier") frontier.unavailable(message.reason);
        root.dataset.frontier = "unavailable";
        setStatus("Done");
        break;
      case "attention":
        attention.update(message.length, message.dense, message.compressed);
        break;
      case "error":
        showError(message.message, message.detail);
        setStatus("Error: see the message above");
        if (message.task === "generate") endGeneration();
        if (message.task === "load") setModelReady(modelLoaded);
        break;
    }
  });

  output.start("", compressionLabel(controls.compression()));
  worker.post({ type: "init", backends: preferredBackends(location.search) });
}
