// Webhook configurations' validation: Kubernetes' rules for names, client configs, review
// versions and match conditions, each bad input on its own.

import t from 'tap';
import { validateSources } from '../../proto/manifests';

const config = (webhook: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: c}
webhooks:
- ${webhook}
`;
const base = 'name: a.b.example, sideEffects: None, admissionReviewVersions: [v1]';
const errorsOf = (webhook: string) => validateSources([{ name: 'w.yaml', text: config(webhook) }]).errors.map((e) => e.message.replace(/^w\.yaml:\d+:\d+: /, ''));

t.test('a valid configuration', async (t) => {
  t.same(errorsOf(`{${base}, clientConfig: {url: "https://hooks.example.com:8443/validate"}, matchConditions: [{name: m, expression: "object != null"}]}`), []);
  t.same(errorsOf(`{${base}, clientConfig: {service: {namespace: hooks, name: policy, path: /validate, port: 8443}, caBundle: "TFMwdExTMUNSVWRK"}}`), []);
});

t.test('bad input, one at a time', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['a name of two segments', `{name: a.example, sideEffects: None, admissionReviewVersions: [v1], clientConfig: {url: "https://h/"}}`, /webhooks\[0\]\.name: must be a domain with at least three segments/],
    ['neither url nor service', `{${base}, clientConfig: {}}`, /webhooks\[0\]\.clientConfig: exactly one of url or service is required/],
    ['both url and service', `{${base}, clientConfig: {url: "https://h/", service: {namespace: hooks, name: policy}}}`, /exactly one of url or service is required/],
    ['plain http', `{${base}, clientConfig: {url: "http://h/"}}`, /clientConfig\.url: 'https' is the only allowed URL scheme/],
    ['a query', `{${base}, clientConfig: {url: "https://h/x?y=1"}}`, /query parameters are not permitted/],
    ['a relative service path', `{${base}, clientConfig: {service: {namespace: hooks, name: policy, path: x}}}`, /service\.path: must start with a '\/'/],
    ['no v1 review', `{name: a.b.example, sideEffects: None, admissionReviewVersions: [v2], clientConfig: {url: "https://h/"}}`, /admissionReviewVersions: must include at least one of v1, v1beta1/],
    ['side effects', `{name: a.b.example, sideEffects: Some, admissionReviewVersions: [v1], clientConfig: {url: "https://h/"}}`, /sideEffects: must be one of: None, NoneOnDryRun/],
    ['a timeout over 30 s', `{${base}, timeoutSeconds: 31, clientConfig: {url: "https://h/"}}`, /timeoutSeconds: must be seconds from 1 to 30/],
    ['a condition that does not compile', `{${base}, clientConfig: {url: "https://h/"}, matchConditions: [{name: m, expression: "object.("}]}`, /matchConditions\[0\]\.expression: compilation failed/],
  ];
  for (const [what, webhook, message] of cases) {
    const errors = errorsOf(webhook);
    t.equal(errors.length, 1, `${what}: one error (${errors.join(' | ')})`);
    t.match(errors[0], message, what);
  }
  const twice = validateSources([{ name: 'w.yaml', text: config(`{${base}, clientConfig: {url: "https://h/"}}\n- {${base}, clientConfig: {url: "https://h/"}}`) }]).errors.map((e) => e.message);
  t.match(twice, [/webhooks\[1\]\.name: Duplicate value: "a\.b\.example"/], 'names are unique in a configuration');
});
