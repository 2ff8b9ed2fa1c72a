import { describe, expect, it } from "vitest";
import { viridis } from "./color-map.js";
import { heatmapPixels } from "./heatmap.js";

describe("heatmapPixels", () => {
  it("colours 0 and the maximum with viridis' ends and leaves NaN cells grey", () => {
    // Viridis ends (matplotlib _viridis_data[0] and [255], as bytes): #440154 and #fde725.
    const pixels = heatmapPixels(Float32Array.of(0, Number.NaN, 0.5, 1), 2, 2, { maximum: 1, gamma: 1 });
    expect([...pixels.subarray(0, 4)]).toEqual([68, 1, 84, 255]);
    expect([...pixels.subarray(4, 8)]).toEqual([236, 236, 236, 255]);
    expect([...pixels.subarray(12, 16)]).toEqual([253, 231, 37, 255]);
    expect([...pixels.subarray(8, 11)]).toEqual(viridis(0.5));
  });

  it("diverging mode maps the sign to blue or red and zero to white", () => {
    const pixels = heatmapPixels(Float32Array.of(-2, 0, 2), 1, 3, { mode: "diverging", gamma: 1 });
    expect([...pixels.subarray(0, 3)]).toEqual([31, 119, 180]);
    expect([...pixels.subarray(4, 7)]).toEqual([255, 255, 255]);
    expect([...pixels.subarray(8, 11)]).toEqual([214, 39, 40]);
  });

  it("rejects a matrix smaller than rows × columns", () => {
    expect(() => heatmapPixels(new Float32Array(3), 2, 2)).toThrow(RangeError);
  });
});
