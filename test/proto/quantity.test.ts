// Quantities: cpu to millicores and memory to bytes, exactly (no float rounding), rounding up,
// with errors for junk; and back to text.

import t from 'tap';
import { createRequest } from '../../agent/node/container-spec';
import { podRequests } from '../../controller/controllers/scheduler/requests';
import { QuantityError, formatCpu, formatMemory, parseCpu, parseMemory, type Pod } from '../../proto/resources';

t.test('cpu to millicores', async (t) => {
  const cases: [string | number, number][] = [
    ['500m', 500], ['2', 2000], [2, 2000], ['0.5', 500], [0.5, 500], ['1.5', 1500], ['0.1', 100], [0.1, 100],
    ['100m', 100], ['1m', 1], ['0', 0], ['0.0001', 1], ['1u', 1], ['1000000n', 1], ['1k', 1_000_000],
    ['1e3', 1_000_000], ['1e-3', 1], ['+2', 2000], [' 250m ', 250], ['.5', 500], ['2.', 2000], ['0.3', 300], [0.7, 700],
  ];
  for (const [input, want] of cases) t.equal(parseCpu(input), want, JSON.stringify(input));
});

t.test('memory to bytes', async (t) => {
  const cases: [string | number, number][] = [
    ['128Mi', 128 * 2 ** 20], ['1Gi', 2 ** 30], ['1G', 1e9], ['1000k', 1e6], ['1e3', 1000], ['1E3', 1000], ['512', 512], [512, 512],
    ['1Ki', 1024], ['1.5Gi', 1.5 * 2 ** 30], ['0.5Ki', 512], ['1M', 1e6], ['1T', 1e12], ['1Ti', 2 ** 40], ['0', 0],
    ['128m', 1], // 0.128 bytes, rounded up as Kubernetes does
    ['1.1', 2],
  ];
  for (const [input, want] of cases) t.equal(parseMemory(input), want, JSON.stringify(input));
});

t.test('junk is refused with what and where', async (t) => {
  t.throws(() => parseCpu('abc'), { message: 'invalid cpu quantity "abc": expected cores ("2", "0.5") or millicores ("500m")', code: 'invalid-argument' });
  t.throws(() => parseCpu('1 core', 'spec.containers[0].resources.requests.cpu'),
    { message: 'invalid cpu quantity "1 core" at spec.containers[0].resources.requests.cpu: expected cores ("2", "0.5") or millicores ("500m")' });
  t.throws(() => parseMemory('12MB'), { message: 'invalid memory quantity "12MB": expected bytes with an optional suffix ("128Mi", "1Gi", "1G", "1000k")' });
  for (const junk of ['', 'Mi', '1..2', '1Mi2', '1e', '1 Mi', '0x10', 'Infinity', '1mi', '1e3Mi', '--1']) {
    t.throws(() => parseMemory(junk), QuantityError, JSON.stringify(junk));
  }
  t.throws(() => parseCpu(Number.NaN), QuantityError);
  t.throws(() => parseCpu('-1'), { message: 'invalid cpu quantity "-1": must not be negative' });
  t.throws(() => parseMemory('8Ei'), { message: 'invalid memory quantity "8Ei": too large' });
  t.throws(() => parseMemory('1e99'), /exponent out of range/);
});

t.test('format back', async (t) => {
  t.equal(formatCpu(2000), '2');
  t.equal(formatCpu(500), '500m');
  t.equal(formatCpu(1500), '1500m');
  t.equal(formatCpu(0), '0');
  t.equal(formatMemory(128 * 2 ** 20), '128Mi');
  t.equal(formatMemory(2 ** 30), '1Gi');
  t.equal(formatMemory(1e9), '1G');
  t.equal(formatMemory(1e6), '1M');
  t.equal(formatMemory(1500), '1500');
  t.equal(formatMemory(3072), '3Ki');
  t.equal(formatMemory(1536), '1536', 'not exact in Ki: bytes');
  t.equal(formatMemory(0), '0');
  for (const text of ['128Mi', '1Gi', '1G', '3Ki', '7']) t.equal(formatMemory(parseMemory(text)), text, `round trip ${text}`);
  for (const text of ['2', '500m', '1500m']) t.equal(formatCpu(parseCpu(text)), text, `round trip ${text}`);
});

t.test("the scheduler and the agent read one pod's quantities alike", async (t) => {
  // One pod, its requests equal to its limits: the scheduler fits by the requests, the agent sets
  // the cgroup limits; both go through proto/resources' exact parser, so they agree to the unit.
  const cases: [cpu: string, memory: string][] = [['100n', '100n'], ['1.5', '1.5'], ['0.1', '128Mi'], ['1e3', '1e3'], ['250m', '0.1']];
  for (const [cpu, memory] of cases) {
    const resources = { requests: { cpu, memory }, limits: { cpu, memory } };
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [{ name: 'c', image: 'i', resources }] } };
    const scheduler = podRequests(pod).fit;
    const agent = createRequest(pod, { namespace: 'default', name: 'p', uid: 'u' }, pod.spec.containers[0]!, '/n').limits!;
    t.equal(agent.memoryBytes, scheduler.memory, `memory ${memory}: ${scheduler.memory} bytes`);
    t.equal(Math.round(agent.cpus! * 1000), scheduler.cpu, `cpu ${cpu}: ${scheduler.cpu} millicores`);
  }
  t.same(podRequests({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '100n', memory: '1e3' } } }] } }).fit,
    { cpu: 1, memory: 1000 }, '100n cpu rounds up to 1 millicore; 1e3 is 1000 bytes');
  const bad: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '12 apples' } } }] } };
  t.throws(() => createRequest(bad, { namespace: 'default', name: 'x', uid: 'u' }, bad.spec.containers[0]!, '/n'),
    { message: 'invalid memory quantity "12 apples" at pod default/x container c resources.limits.memory: expected bytes with an optional suffix ("128Mi", "1Gi", "1G", "1000k")', code: 'invalid-argument' });
});
