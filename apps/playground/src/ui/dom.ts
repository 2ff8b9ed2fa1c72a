type Child = Node | string | null | undefined | false;
type Properties = Record<string, string | number | boolean | EventListener | undefined>;

/**
 * Creates an HTML element. Keys starting with "on" become event listeners, `class` and
 * `data-*`/`aria-*` become attributes, other keys are set as properties (value, checked …).
 */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, properties: Properties = {}, children: Child[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(properties)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class" || key.startsWith("data-") || key.startsWith("aria-") || key === "for" || key === "role") {
      node.setAttribute(key, String(value));
    } else {
      (node as unknown as Record<string, unknown>)[key] = value;
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

/** A titled card that holds one panel. */
export function panel(title: string, testId: string, body: Child[], headerExtras: Child[] = []): HTMLElement {
  return element("section", { class: "panel", "data-testid": testId }, [
    element("header", { class: "panel-header" }, [element("h2", {}, [title]), ...headerExtras]),
    element("div", { class: "panel-body" }, body),
  ]);
}

/** A labelled form control row. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return element("label", { class: "field" }, [element("span", { class: "field-label" }, [label]), control, hint ? element("small", { class: "field-hint" }, [hint]) : null]);
}

export function selectOf(options: ReadonlyArray<readonly [value: string, label: string]>, value: string, testId: string): HTMLSelectElement {
  const select = element("select", { "data-testid": testId });
  for (const [optionValue, label] of options) select.append(element("option", { value: optionValue }, [label]));
  select.value = value;
  return select;
}

/** Byte counts in B / KiB / MiB with 3 significant digits. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "–";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${Number((bytes / 1024).toPrecision(3))} KiB`;
  return `${Number((bytes / 1024 / 1024).toPrecision(3))} MiB`;
}
