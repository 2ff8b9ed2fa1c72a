/** A GitHub markdown table; `align` gives "l" or "r" per column (numbers right-aligned). */
export function markdownTable(headers: string[], rows: string[][], align: string = "l" + "r".repeat(headers.length - 1)): string {
  const rule = headers.map((_, index) => (align[index] === "r" ? "---:" : "---"));
  return [headers, rule, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** Fixed digits, "–" for missing values. */
export function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

/** Three significant digits for values spanning decades (MSE, KL). */
export function significant(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (value === 0) return "0";
  return Math.abs(value) >= 1e-3 ? Number(value.toPrecision(digits)).toString() : value.toExponential(digits - 1);
}
