// `berth controller` refuses a bad pod network before it makes anything: each flag named with
// what is wrong, exit 125 (a usage error), the data root left empty.

import * as fs from 'node:fs';
import t from 'tap';
import { runCli } from '../fixtures/agent';

t.test('bad pod network flags are refused by name, before anything is made', async (t) => {
  const dir = t.testdir();
  const cases: Array<[string[], string]> = [
    [['--cluster-cidr', '10.42.0.1/16'], 'Error: --cluster-cidr "10.42.0.1/16": host bits are set\n'],
    [['--cluster-cidr', '10.42.0.0'], 'Error: --cluster-cidr "10.42.0.0": not an IPv4 CIDR like 10.42.0.0/16\n'],
    [['--cluster-cidr', '10.0.0.0/4'], 'Error: --cluster-cidr "10.0.0.0/4": the prefix length must be 8 to 28\n'],
    [['--node-cidr-mask-size', '12'], "Error: --node-cidr-mask-size 12: must be 16 (the cluster CIDR's 10.42.0.0/16) to 28\n"],
    [['--node-cidr-mask-size', '29'], "Error: --node-cidr-mask-size 29: must be 16 (the cluster CIDR's 10.42.0.0/16) to 28\n"],
    [['--pod-network', 'flannel'], 'Error: --pod-network "flannel": expected vxlan or host-gw\n'],
  ];
  for (const [flags, message] of cases) {
    const r = runCli(['controller', '--data-root', dir, '--listen', '127.0.0.1:0', ...flags]);
    t.equal(r.status, 125, flags.join(' '));
    t.equal(r.stderr, message, flags.join(' '));
  }
  t.same(fs.readdirSync(dir), [], 'nothing was made');
});
