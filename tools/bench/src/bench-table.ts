/** Plain-text table printing shared by kvpack benchmarks. */

export interface TableColumn<Row> {
  header: string;
  value: (row: Row) => string | number;
  /** Digits after the point for numbers (default 3); strings print as they are. */
  digits?: number;
}

function formatCell(value: string | number, digits: number): string {
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 10 ** -digits)) return value.toExponential(2);
  return value.toFixed(digits);
}

/** Renders rows as an aligned table (numbers right-aligned). */
export function formatTable<Row>(rows: Row[], columns: TableColumn<Row>[]): string {
  const cells = rows.map((row) => columns.map((column) => formatCell(column.value(row), column.digits ?? 3)));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index].length)));
  const numeric = columns.map((column) => rows.length > 0 && typeof column.value(rows[0]) === "number");
  const render = (line: string[]) =>
    line.map((cell, index) => (numeric[index] ? cell.padStart(widths[index]) : cell.padEnd(widths[index]))).join("  ");
  return [render(columns.map((column) => column.header)), widths.map((width) => "-".repeat(width)).join("  "), ...cells.map(render)].join("\n");
}

export function printTable<Row>(title: string, rows: Row[], columns: TableColumn<Row>[]): void {
  process.stdout.write(`\n${title}\n${formatTable(rows, columns)}\n`);
}
