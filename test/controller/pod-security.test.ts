// Pod Security admission as pure policy: the level a namespace's labels choose, and each check's
// refusal in Kubernetes' exact words (the reasons and details kubectl users see and search for).

import t from 'tap';
import { admitPod, enforcedLevel, podSecurityViolation, type PodSecurityView } from '../../controller/admission';
import type { ContainerView, PodSpecView } from '../../controller/admission/types';

const pod = (spec: Partial<PodSpecView> & { containers?: ContainerView[] } = {}, annotations?: Record<string, string>): PodSecurityView => ({
  metadata: { name: 'web', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'web' }], ...spec },
});

/** A container that meets restricted. */
const hardened = (name: string, extra: ContainerView['securityContext'] = {}): ContainerView => ({
  name,
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, ...extra },
});

t.test('the level comes from pod-security.kubernetes.io/enforce: baseline when absent, restricted when not a level', async (t) => {
  t.equal(enforcedLevel(undefined), 'baseline');
  t.equal(enforcedLevel({ team: 'a' }), 'baseline');
  for (const level of ['privileged', 'baseline', 'restricted']) t.equal(enforcedLevel({ 'pod-security.kubernetes.io/enforce': level }), level);
  t.equal(enforcedLevel({ 'pod-security.kubernetes.io/enforce': 'Privileged' }), 'restricted', 'fail closed');
  t.equal(enforcedLevel({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.24' }), 'baseline', 'the version is ignored');
});

t.test('baseline: hostPort, as Kubernetes words it', async (t) => {
  const p = pod({ containers: [{ name: 'web', ports: [{ hostPort: 22 }] }] });
  t.equal(podSecurityViolation('baseline', p), 'violates PodSecurity "baseline:latest": hostPort (container "web" uses hostPort 22)');
  t.throws(() => admitPod(p, undefined), {
    code: 'permission-denied',
    message: 'pods "web" is forbidden: violates PodSecurity "baseline:latest": hostPort (container "web" uses hostPort 22)',
  }, 'an unlabelled namespace enforces baseline');
  t.doesNotThrow(() => admitPod(p, { 'pod-security.kubernetes.io/enforce': 'privileged' }), 'a privileged namespace allows it');
  const many = pod({
    initContainers: [{ name: 'init', ports: [{ hostPort: 9 }] }],
    containers: [{ name: 'web', ports: [{ hostPort: 8080 }, { hostPort: 0 }, {}] }, { name: 'side', ports: [{ hostPort: 8080 }] }],
  });
  t.equal(podSecurityViolation('baseline', many),
    'violates PodSecurity "baseline:latest": hostPort (containers "init", "web", "side" use hostPorts 8080, 9)',
    'containers in visit order (init first), ports as a sorted set of strings; hostPort 0 is none');
});

t.test('baseline: a probe or lifecycle handler aimed at another host', async (t) => {
  const p = pod({
    containers: [
      { name: 'web', livenessProbe: { httpGet: { host: '169.254.169.254' } }, readinessProbe: { tcpSocket: { host: '' } } },
      { name: 'api', startupProbe: { tcpSocket: { host: '10.0.0.1' } }, lifecycle: { preStop: { httpGet: { host: '10.0.0.1' } } } },
    ],
  });
  t.equal(podSecurityViolation('baseline', p),
    'violates PodSecurity "baseline:latest": probe or lifecycle host (containers "api", "web" use probe or lifecycle hosts "10.0.0.1", "169.254.169.254")');
  t.equal(podSecurityViolation('baseline', pod({ containers: [{ name: 'web', readinessProbe: { httpGet: { host: 'db' } } }] })),
    'violates PodSecurity "baseline:latest": probe or lifecycle host (container "web" uses probe or lifecycle host "db")');
  t.equal(podSecurityViolation('baseline', pod({ containers: [{ name: 'web', livenessProbe: { httpGet: {} } }] })), undefined, 'no host: the pod IP');
});

t.test('baseline: the rest of the level, each in its words, in Kubernetes\' order', async (t) => {
  const cases: Array<[string, PodSecurityView, string]> = [
    ['privileged', pod({ containers: [{ name: 'web', securityContext: { privileged: true } }] }),
      'privileged (container "web" must not set securityContext.privileged=true)'],
    ['host namespaces', pod({ hostPID: true, hostNetwork: true }), 'host namespaces (hostNetwork=true, hostPID=true)'],
    ['hostPath', pod({ volumes: [{ name: 'root', hostPath: { path: '/' } }, { name: 'tmp', emptyDir: {} }] }), 'hostPath volumes (volume "root")'],
    ['capabilities', pod({ containers: [{ name: 'web', securityContext: { capabilities: { add: ['SYS_ADMIN', 'CHOWN', 'NET_ADMIN'] } } }] }),
      'non-default capabilities (container "web" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)'],
    ['seccomp', pod({ securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [{ name: 'web', securityContext: { seccompProfile: { type: 'Unconfined' } } }] }),
      'seccompProfile (pod and container "web" must not set securityContext.seccompProfile.type to "Unconfined")'],
    ['procMount', pod({ containers: [{ name: 'web', securityContext: { procMount: 'Unmasked' } }] }),
      'procMount (container "web" must not set securityContext.procMount to "Unmasked")'],
    ['sysctls', pod({ securityContext: { sysctls: [{ name: 'net.ipv4.tcp_syncookies' }, { name: 'kernel.msgmax' }, { name: 'vm.swappiness' }] } }),
      'forbidden sysctls (kernel.msgmax, vm.swappiness)'],
    ['AppArmor field', pod({ containers: [{ name: 'web', securityContext: { appArmorProfile: { type: 'Unconfined' } } }] }),
      'forbidden AppArmor profile (container "web" must not set AppArmor profile type to "Unconfined")'],
    ['AppArmor annotation', pod({}, { 'container.apparmor.security.beta.kubernetes.io/web': 'unconfined', 'container.apparmor.security.beta.kubernetes.io/ok': 'runtime/default' }),
      'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/web="unconfined"")'],
    ['SELinux', pod({ containers: [{ name: 'web', securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } } }] }),
      'seLinuxOptions (container "web" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)'],
    ['Windows hostProcess', pod({ securityContext: { windowsOptions: { hostProcess: true } } }),
      'hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)'],
  ];
  for (const [what, p, expected] of cases) t.equal(podSecurityViolation('baseline', p), `violates PodSecurity "baseline:latest": ${expected}`, what);

  const allowed = pod({
    securityContext: { seccompProfile: { type: 'RuntimeDefault' }, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start' }] },
    containers: [{ name: 'web', securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] }, seLinuxOptions: { type: 'container_t', level: 's0:c1' }, procMount: 'Default', seccompProfile: { type: 'Localhost' } } }],
  }, { 'container.apparmor.security.beta.kubernetes.io/web': 'localhost/my-profile' });
  t.equal(podSecurityViolation('baseline', allowed), undefined, 'the default set of capabilities, safe sysctls, RuntimeDefault/Localhost profiles pass');

  const several = pod({ hostNetwork: true, volumes: [{ name: 'root', hostPath: {} }], containers: [{ name: 'web', ports: [{ hostPort: 80 }], securityContext: { privileged: true } }] });
  t.equal(podSecurityViolation('baseline', several),
    'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostPath volumes (volume "root"), hostPort (container "web" uses hostPort 80), privileged (container "web" must not set securityContext.privileged=true)');
});

t.test('restricted: a pod that says nothing of its security fails the four checks Kubernetes names', async (t) => {
  t.equal(podSecurityViolation('restricted', pod()),
    'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false), ' +
    'unrestricted capabilities (container "web" must set securityContext.capabilities.drop=["ALL"]), ' +
    'runAsNonRoot != true (pod or container "web" must set securityContext.runAsNonRoot=true), ' +
    'seccompProfile (pod or container "web" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")');
  t.throws(() => admitPod(pod(), { 'pod-security.kubernetes.io/enforce': 'restricted' }), { code: 'permission-denied', message: /^pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/ });
  t.equal(podSecurityViolation('baseline', pod()), undefined, 'and baseline has nothing against it');
});

t.test('restricted: each check, baseline ones first, and the hardened pod passes', async (t) => {
  t.equal(podSecurityViolation('restricted', pod({ containers: [hardened('web'), hardened('side')] })), undefined);
  t.equal(podSecurityViolation('restricted', pod({
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'web', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }],
  })), undefined, 'pod-level runAsNonRoot and seccompProfile cover the containers; NET_BIND_SERVICE may come back');

  const cases: Array<[string, PodSecurityView, string]> = [
    ['privileged too', pod({ containers: [{ name: 'web', securityContext: { ...hardened('web').securityContext, privileged: true } }] }),
      'privileged (container "web" must not set securityContext.privileged=true)'],
    ['allowPrivilegeEscalation true', pod({ containers: [hardened('web', { allowPrivilegeEscalation: true }), hardened('ok')] }),
      'allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false)'],
    ['capabilities', pod({ containers: [hardened('a', { capabilities: { drop: ['NET_RAW'] } }), hardened('b', { capabilities: { drop: ['ALL'], add: ['SYS_ADMIN', 'CHOWN'] } })] }),
      'unrestricted capabilities (container "a" must set securityContext.capabilities.drop=["ALL"]; container "b" must not include "CHOWN", "SYS_ADMIN" in securityContext.capabilities.add)'],
    ['runAsNonRoot false', pod({ securityContext: { runAsNonRoot: false }, containers: [hardened('web', { runAsNonRoot: false })] }),
      'runAsNonRoot != true (pod and container "web" must not set securityContext.runAsNonRoot=false)'],
    ['runAsUser 0', pod({ securityContext: { runAsUser: 0 }, containers: [hardened('web', { runAsUser: 0 }), hardened('ok', { runAsUser: 1000 })] }),
      'runAsUser=0 (pod and container "web" must not set runAsUser=0)'],
    ['seccomp Unconfined', pod({ containers: [hardened('web', { seccompProfile: { type: 'Unconfined' } })] }),
      'seccompProfile (container "web" must not set securityContext.seccompProfile.type to "Unconfined")'],
    ['volumes', pod({ containers: [hardened('web')], volumes: [{ name: 'h', hostPath: { path: '/' } }, { name: 'n', nfs: {} }, { name: 'c', configMap: {} }] }),
      'restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")'],
  ];
  for (const [what, p, expected] of cases) t.equal(podSecurityViolation('restricted', p), `violates PodSecurity "restricted:latest": ${expected}`, what);
});

t.test('privileged: anything goes', async (t) => {
  const anything = pod({ hostNetwork: true, volumes: [{ name: 'root', hostPath: {} }], containers: [{ name: 'web', ports: [{ hostPort: 22 }], securityContext: { privileged: true } }] });
  t.equal(podSecurityViolation('privileged', anything), undefined);
  t.doesNotThrow(() => admitPod(anything, { 'pod-security.kubernetes.io/enforce': 'privileged' }));
});
