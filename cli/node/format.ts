// How the node verbs print sizes, times and IDs, the way docker prints them.

/** Decimal units, as docker does: 1.2MB, 5.6kB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = value < 10 && unit > 0 ? 3 : 4;
  return `${Number(value.toPrecision(digits))}${units[unit]}`;
}

/** "3 minutes ago", "About an hour ago", "2 days ago". */
export function ago(iso: string, now = Date.now()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return 'N/A';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  const steps: Array<[number, string]> = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [4.35, 'week'],
    [12, 'month'],
    [Infinity, 'year'],
  ];
  if (seconds < 1) return 'Less than a second ago';
  let value = seconds;
  for (const [size, name] of steps) {
    if (value < size) {
      const n = Math.floor(value);
      if (n === 1) return name === 'hour' ? 'About an hour ago' : `1 ${name} ago`;
      return `${n} ${name}s ago`;
    }
    value /= size;
  }
  return 'N/A';
}

/** The 12 hex digits docker shows for an ID. */
export const shortId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);
