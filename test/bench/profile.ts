// Summarises a V8 .cpuprofile (node --cpu-prof) of the agent's main thread: where its time went,
// by function (self), by module, and inclusive for berth's own functions.

import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const agent = /\/dist\/((?:agent|cli|proto)\/.*)$/.exec(url);
  if (agent) return agent[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').replace(/\/[^/]+$/, (m) => (url.includes('streams') ? '' : m));
  return url;
}

const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`;

export function summarizeProfile(file: string, top = 18): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i+1] is the time spent in sample i (until the next sample).
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const total = p.endTime - p.startTime;
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);

  const selfByFn = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + t);
    const mod = moduleOf(url, functionName);
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + t);
  }

  // Inclusive time of berth's own functions (each counted once per stack, so recursion is fine).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url } = byId.get(cur)!.callFrame;
      if (!/\/dist\/agent\//.test(url) || !functionName) continue;
      const key = `${functionName} (${url.replace(/^.*\/dist\//, '')})`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }

  const busy = total - idle;
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1)}%`;
  const rows = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, t]) => `    ${ms(t).padStart(8)} ${pct(t).padStart(6)}  ${k}`);
  return [
    `  main thread: ${ms(total)} profiled, ${ms(busy)} busy, ${ms(idle)} idle (worker threads - zlib, fs - are not in this profile)`,
    '  self time by module (share of busy):',
    ...rows(selfByModule, 12),
    '  self time by function:',
    ...rows(selfByFn, top),
    "  inclusive time of berth's functions:",
    ...rows(inclusive, 12),
  ].join('\n');
}
