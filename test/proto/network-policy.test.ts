// NetworkPolicy validation: Kubernetes' rules, each bad input on its own with its message and
// position, and the defaults the stored object gets.

import t from 'tap';
import { validateSources } from '../../proto/manifests';
import { withDefaults, type NetworkPolicy } from '../../proto/resources';

const policy = (spec: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
${spec}
`;
const errorsOf = (text: string) => validateSources([{ name: 'np.yaml', text }]).errors.map((e) => e.message);

t.test('the documentation\'s policy is valid', async (t) => {
  t.same(errorsOf(policy(`  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
        - namespaceSelector: {matchLabels: {project: myproject}}
        - podSelector: {matchLabels: {role: frontend}}
      ports: [{protocol: TCP, port: 6379}]
  egress:
    - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
      ports: [{protocol: TCP, port: 32000, endPort: 32768}, {port: http}, {protocol: SCTP}]`)), []);
  t.same(errorsOf(policy('  podSelector: {}\n  ingress: [{}]')), [], 'an empty peer list and an empty selector');
  t.same(errorsOf(policy('  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: "fd00::/8", except: ["fd00:1::/32"]}}]}]')), [], 'IPv6 blocks are taken');
  t.same(errorsOf(policy('  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.1.2.3/16}}]}]')), [], 'host bits in a block are taken, as Kubernetes does');
});

t.test('bad input, one at a time', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['no podSelector', '  ingress: [{}]', 'np.yaml:5:3: spec.podSelector: is required'],
    ['a policy type that is not one', '  podSelector: {}\n  policyTypes: [Inbound]', 'np.yaml:6:17: spec.policyTypes[0]: must be one of: Ingress, Egress'],
    ['an empty peer', '  podSelector: {}\n  ingress: [{from: [{}]}]', 'np.yaml:6:21: spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)'],
    ['ipBlock beside a selector', '  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]', 'np.yaml:6:18: spec.egress[0].to[0]: may not specify both ipBlock and another peer'],
    ['a CIDR that is not one', '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0}}]}]', 'np.yaml:6:38: spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.0": must be a valid CIDR such as 10.0.0.0/24'],
    ['an except outside its block', '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]', 'np.yaml:6:60: spec.ingress[0].from[0].ipBlock.except[0]: "10.1.0.0/24": must be a strict subset of `cidr` (10.0.0.0/16)'],
    ['an except the size of its block', '  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]', 'np.yaml:6:60: spec.ingress[0].from[0].ipBlock.except[0]: "10.0.0.0/16": must be a strict subset of `cidr` (10.0.0.0/16)'],
    ['endPort without port', '  podSelector: {}\n  ingress: [{ports: [{endPort: 90}]}]', 'np.yaml:6:22: spec.ingress[0].ports[0].port: must be specified when endPort is specified'],
    ['endPort with a named port', '  podSelector: {}\n  ingress: [{ports: [{port: http, endPort: 90}]}]', 'np.yaml:6:44: spec.ingress[0].ports[0].endPort: may not be specified when port is non-numeric'],
    ['endPort below port', '  podSelector: {}\n  ingress: [{ports: [{port: 100, endPort: 90}]}]', 'np.yaml:6:43: spec.ingress[0].ports[0].endPort: must be greater than or equal to port (100)'],
    ['a port out of range', '  podSelector: {}\n  ingress: [{ports: [{port: 70000}]}]', 'np.yaml:6:29: spec.ingress[0].ports[0].port: must be a port number from 1 to 65535 or the name of one of the container\'s ports'],
    ['an unknown protocol', '  podSelector: {}\n  ingress: [{ports: [{protocol: ICMP}]}]', 'np.yaml:6:33: spec.ingress[0].ports[0].protocol: must be one of: TCP, UDP, SCTP'],
    ['a selector requirement without values', '  podSelector: {matchExpressions: [{key: a, operator: In, values: []}]}', 'np.yaml:5:67: spec.podSelector.matchExpressions[0].values: must not be empty when operator is In'],
  ];
  for (const [what, spec, message] of cases) t.same(errorsOf(policy(spec)), [message], what);
});

t.test('defaults: policy types from the rules given, ports TCP', async (t) => {
  const base = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' } } as const;
  const ingressOnly = withDefaults<NetworkPolicy>({ ...base, spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] } });
  t.same(ingressOnly.spec.policyTypes, ['Ingress']);
  t.equal(ingressOnly.spec.ingress![0]!.ports![0]!.protocol, 'TCP');
  t.same(withDefaults<NetworkPolicy>({ ...base, spec: { podSelector: {}, egress: [{}] } }).spec.policyTypes, ['Ingress', 'Egress']);
  t.same(withDefaults<NetworkPolicy>({ ...base, spec: { podSelector: {}, policyTypes: ['Egress'] } }).spec.policyTypes, ['Egress'], 'given types are kept');
});
