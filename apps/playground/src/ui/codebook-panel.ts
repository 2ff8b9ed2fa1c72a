import { drawCodebook2d, drawCodebook3d, type CodebookViewData } from "../plot/codebook-view.js";
import { element, panel, selectOf } from "./dom.js";

export interface CodebookPanel {
  readonly root: HTMLElement;
  update(data: CodebookViewData, bits: number): void;
  /** Shows build progress in [0, 1]; undefined hides it. */
  setProgress(fraction: number | undefined, label?: string): void;
  selection(): { blockSize: number; bits: number };
}

// Rates per view dimension: N = 2^(k·bits) codewords; 3-D above 2 bits (N > 64) takes tens of seconds to build.
const bitsOptions: Record<string, readonly string[]> = {
  "2": ["0.5", "1", "1.5", "2", "2.5", "3", "4"],
  "3": ["0.5", "1", "1.5", "2"],
};

/** FibQuant codebook: 2-D points with radial shells, or 3-D directions on a sphere you can drag to rotate. */
export function createCodebookPanel(onSelect: () => void): CodebookPanel {
  const dimension = selectOf(
    [
      ["2", "2-D"],
      ["3", "3-D sphere"],
    ],
    "2",
    "codebook-dimension",
  );
  const bits = selectOf(
    bitsOptions["2"].map((value) => [value, `${value} bits`] as const),
    "2",
    "codebook-bits",
  );
  dimension.addEventListener("change", () => {
    const previous = bits.value;
    const options = bitsOptions[dimension.value];
    bits.replaceChildren(...options.map((value) => element("option", { value }, [`${value} bits`])));
    bits.value = options.includes(previous) ? previous : options[options.length - 1];
    onSelect();
  });
  bits.addEventListener("change", onSelect);
  const canvas = element("canvas", { class: "codebook-canvas", width: 340, height: 340, "data-testid": "codebook-canvas" });
  const note = element("div", { class: "summary", "data-testid": "codebook-summary" }, ["Building the codebook…"]);
  const progress = element("progress", { max: 1, value: 0, hidden: true, style: "width:100%" });
  const root = panel("FibQuant codebook", "codebook-panel", [note, progress, canvas], [element("span", { class: "inline-controls" }, [dimension, bits])]);

  let data: CodebookViewData | undefined;
  let yaw = 0.6;
  let pitch = 0.35;
  const redraw = () => {
    if (!data) return;
    if (data.blockSize === 3) drawCodebook3d(canvas, data, yaw, pitch);
    else drawCodebook2d(canvas, data);
  };
  let dragging: { x: number; y: number } | undefined;
  canvas.addEventListener("pointerdown", (event) => {
    dragging = { x: event.clientX, y: event.clientY };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!dragging || data?.blockSize !== 3) return;
    yaw += (event.clientX - dragging.x) * 0.01;
    pitch = Math.max(-1.5, Math.min(1.5, pitch + (event.clientY - dragging.y) * 0.01));
    dragging = { x: event.clientX, y: event.clientY };
    redraw();
  });
  canvas.addEventListener("pointerup", () => (dragging = undefined));

  return {
    root,
    update(next, shownBits) {
      data = next;
      note.textContent =
        next.blockSize === 3
          ? `${next.size} codewords in 3-D at ${shownBits} bits per coordinate · directions on the unit sphere, coloured by radial shell · drag to rotate`
          : `${next.size} codewords in 2-D at ${shownBits} bits per coordinate · circles are the radial shells`;
      redraw();
    },
    setProgress(fraction, label) {
      progress.hidden = fraction === undefined;
      if (fraction !== undefined) progress.value = fraction;
      if (label) note.textContent = label;
    },
    selection: () => ({ blockSize: Number(dimension.value), bits: Number(bits.value) }),
  };
}
