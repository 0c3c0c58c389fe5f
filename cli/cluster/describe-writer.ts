// The layout of `berth describe`, as kubectl's tabwriter makes it: "Key:" and value, values of
// consecutive fields aligned two spaces past the longest key; a section header ("Containers:")
// ends an alignment block; small tables padded by two spaces.

type Line =
  | { type: 'field'; indent: number; key: string; value: string }
  | { type: 'raw'; text: string };

export class DescribeWriter {
  private readonly lines: Line[] = [];

  /** "Key:  value" at `indent`. */
  field(indent: number, key: string, value: string | number | boolean | undefined): this {
    this.lines.push({ type: 'field', indent, key, value: value === undefined || value === '' ? '<none>' : String(value) });
    return this;
  }

  /** "Key:  first" then the others aligned under it; "<none>" when empty. */
  list(indent: number, key: string, values: string[]): this {
    if (values.length === 0) return this.field(indent, key, '<none>');
    this.field(indent, key, values[0]);
    for (const v of values.slice(1)) this.lines.push({ type: 'field', indent, key: '', value: v });
    return this;
  }

  /** A section header ("Containers:") or any line written as is. */
  line(indent: number, text: string): this {
    this.lines.push({ type: 'raw', text: `${' '.repeat(indent)}${text}` });
    return this;
  }

  /**
   * A table at `indent`, columns padded by two spaces, with kubectl's ---- line under the header
   * when `underline` (true: dashes as long as each heading; or the dashes to print).
   */
  table(indent: number, header: string[], rows: string[][], underline: boolean | string[] = false): this {
    const dashes = Array.isArray(underline) ? underline : header.map((h) => '-'.repeat(h.length));
    const all = underline ? [header, dashes, ...rows] : [header, ...rows];
    const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
    for (const r of all) this.line(indent, r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd());
    return this;
  }

  toString(): string {
    const out: string[] = [];
    let i = 0;
    while (i < this.lines.length) {
      const line = this.lines[i]!;
      if (line.type === 'raw') {
        out.push(line.text);
        i++;
        continue;
      }
      // A block: consecutive fields share one value column.
      let end = i;
      while (end < this.lines.length && this.lines[end]!.type === 'field') end++;
      const block = this.lines.slice(i, end) as Array<Extract<Line, { type: 'field' }>>;
      const width = Math.max(...block.map((f) => f.indent + (f.key ? f.key.length + 1 : 0)));
      for (const f of block) out.push(`${`${' '.repeat(f.indent)}${f.key ? `${f.key}:` : ''}`.padEnd(width + 2)}${f.value}`.trimEnd());
      i = end;
    }
    return `${out.join('\n')}\n`;
  }
}
