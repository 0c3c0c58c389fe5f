// IPv4 blocks: parsing with errors that name the flag and the fault, and the arithmetic the pod
// network needs (blocks inside blocks, gateways).

import t from 'tap';
import { addressAt, containsAddress, containsCidr, formatCidr, overlaps, parseCidr, parseIPv4, subBlock, subBlockCount } from '../../proto/network/cidr';

t.test('parse and format', async (t) => {
  t.same(parseCidr('10.42.0.0/16', 'x'), { base: 10 * 2 ** 24 + 42 * 2 ** 16, prefix: 16 });
  t.equal(formatCidr(parseCidr('10.42.7.0/24', 'x')), '10.42.7.0/24');
  t.equal(formatCidr(parseCidr('0.0.0.0/0', 'x')), '0.0.0.0/0');
  t.equal(parseIPv4('255.255.255.255'), 2 ** 32 - 1);
  t.equal(parseIPv4('1.2.3'), undefined);
  t.equal(parseIPv4('1.2.3.256'), undefined);
  const cases: Array<[string, RegExp]> = [
    ['10.42.0.0', /^--cluster-cidr "10\.42\.0\.0": not an IPv4 CIDR like 10\.42\.0\.0\/16$/],
    ['10.42.0.0/16/2', /not an IPv4 CIDR/],
    ['10.42.0.0/x', /not an IPv4 CIDR/],
    ['10.300.0.0/16', /not an IPv4 CIDR/],
    ['fd00::/64', /not an IPv4 CIDR/],
    ['10.42.0.1/16', /^--cluster-cidr "10\.42\.0\.1\/16": host bits are set$/],
    ['10.0.0.0/4', /^--cluster-cidr "10\.0\.0\.0\/4": the prefix length must be 8 to 28$/],
    ['10.0.0.0/29', /the prefix length must be 8 to 28/],
  ];
  for (const [text, message] of cases) t.throws(() => parseCidr(text, '--cluster-cidr', 8, 28), { code: 'invalid-argument', message }, text);
});

t.test('blocks inside blocks', async (t) => {
  const cluster = parseCidr('10.42.0.0/16', 'x');
  t.equal(subBlockCount(cluster, 24), 256);
  t.equal(subBlockCount(cluster, 8), 0);
  t.equal(formatCidr(subBlock(cluster, 24, 0)), '10.42.0.0/24');
  t.equal(formatCidr(subBlock(cluster, 24, 255)), '10.42.255.0/24');
  t.ok(containsCidr(cluster, parseCidr('10.42.9.0/24', 'x')));
  t.notOk(containsCidr(cluster, parseCidr('10.43.0.0/24', 'x')));
  t.notOk(containsCidr(parseCidr('10.42.9.0/24', 'x'), cluster), 'a larger block is not inside a smaller one');
  t.ok(containsAddress(cluster, parseIPv4('10.42.255.255')!));
  t.notOk(containsAddress(cluster, parseIPv4('10.43.0.0')!));
  t.ok(overlaps(cluster, parseCidr('10.0.0.0/8', 'x')));
  t.notOk(overlaps(cluster, parseCidr('10.43.0.0/16', 'x')));
  t.equal(addressAt(parseCidr('10.42.3.0/24', 'x'), 1), '10.42.3.1', 'the gateway');
});
