// kubectl's tables: columns padded to their widest cell plus three spaces. A watch keeps printing
// rows under the first table, so the widths are kept and only grow when a cell is wider.

export class Table {
  private readonly widths: number[];

  constructor(readonly header: string[], rows: string[][] = []) {
    this.widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  }

  /** One row, padded to the widths seen so far. */
  line(cells: string[]): string {
    cells.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, c.length)));
    return `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(this.widths[i]! + 3))).join('').trimEnd()}\n`;
  }

  /** The header and these rows (whose widths the constructor saw). */
  render(rows: string[][]): string {
    return this.line(this.header) + rows.map((r) => this.line(r)).join('');
  }
}

/** Header and rows as one text. */
export function renderTable(header: string[], rows: string[][]): string {
  return new Table(header, rows).render(rows);
}
