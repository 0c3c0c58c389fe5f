// A Job's completion indexes as Kubernetes writes them: "0,2-4" (status.completedIndexes,
// successPolicy.rules[].succeededIndexes).

/** "0,2-4" as the indexes it names (ranges that are backwards name none). */
export function parseIndexes(text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let i = from!; i <= to! && out.size < 100_000; i++) out.add(i);
  }
  return out;
}

