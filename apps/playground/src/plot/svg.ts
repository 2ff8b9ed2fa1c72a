const svgNamespace = "http://www.w3.org/2000/svg";

export type SvgAttributes = Record<string, string | number | undefined>;

/** Creates an SVG element with attributes (undefined ones skipped) and optional children or text. */
export function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: SvgAttributes = {},
  children: Array<SVGElement | string> = [],
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(svgNamespace, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children) element.append(child);
  return element;
}

/** Formats an axis or tooltip number compactly: 3 significant digits, no trailing zeros. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}
