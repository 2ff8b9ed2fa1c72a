import { describe, expect, it } from "vitest";
import { axisTicks, axisTransform, escapeXml, renderScatterPlotSvg } from "./svg-scatter-plot.js";
import { paretoFrontier } from "./pareto-frontier.js";

describe("pareto frontier", () => {
  it("keeps the points no other point beats on both axes, in increasing x", () => {
    const points = [
      { name: "a", x: 1, y: 0.99 },
      { name: "b", x: 2, y: 0.98 },
      { name: "c", x: 2, y: 0.9 }, // same x as b, lower y: dominated
      { name: "d", x: 3, y: 0.97 },
      { name: "e", x: 2.5, y: 0.95 }, // d is better on both
      { name: "f", x: 0.5, y: 0.97 }, // a is better on both
    ];
    expect(paretoFrontier(points, (point) => point.x, (point) => point.y).map((point) => point.name)).toEqual(["a", "b", "d"]);
    expect(() => paretoFrontier([{ x: Number.NaN, y: 1 }], (point) => point.x, (point) => point.y)).toThrow(RangeError);
  });
});

describe("SVG scatter plot", () => {
  it("places log2 ticks at powers of two and complement-log ticks at 0.9, 0.99, …", () => {
    expect(axisTicks("log2", 0, 5)).toEqual([1, 2, 4, 8, 16, 32]);
    // −log10(1 − 0.99) = 2: the nines count.
    expect(axisTransform("complement-log", 0.99)).toBeCloseTo(2, 12);
    expect(axisTicks("complement-log", 0.5, 3.2)).toEqual([0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999]);
    expect(axisTicks("complement-log", 0.1, 6.2)).toEqual([0.5, 0.8, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999]);
    expect(axisTicks("linear", 0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(() => axisTransform("log2", 0)).toThrow(RangeError);
  });

  it("escapes text and draws one marker per point plus the legend", () => {
    expect(escapeXml(`a<b & "c">`)).toBe("a&lt;b &amp; &quot;c&quot;&gt;");
    const svg = renderScatterPlotSvg({
      title: "K<V",
      x: { label: "ratio", scale: "log2" },
      y: { label: "cosine", scale: "complement-log" },
      series: [
        { name: "one", color: "#f00", marker: "circle", points: [{ x: 2, y: 0.9 }, { x: 4, y: 0.99, hollow: true }] },
        { name: "two", color: "#00f", marker: "square", points: [{ x: 8, y: 0.999, label: "t" }] },
      ],
      lines: [{ name: "frontier", color: "#777", dashed: true, points: [{ x: 2, y: 0.9 }, { x: 8, y: 0.999 }] }],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("K&lt;V");
    // Two circles for series "one" plus one in the legend; one square for "two" plus one in the legend.
    expect(svg.match(/<circle /g)?.length).toBe(3);
    expect(svg.match(/<rect [^>]*width="10" height="10"/g)?.length).toBe(2); // markers are 2·5 px squares
    expect(svg).toContain(`fill="white" stroke="#f00"`); // the hollow marker
    expect(svg).toContain("<title>t</title>");
  });
});
