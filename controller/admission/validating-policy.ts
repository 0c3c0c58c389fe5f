// ValidatingAdmissionPolicy (Kubernetes' CEL admission): a write is checked by every policy a
// binding puts in force whose match covers it. For each such binding (and each of its param
// objects): the policy's matchConditions must all hold, its variables are evaluated in order,
// then each validation must be true. A false one is a violation: its message, its
// messageExpression's result, or "failed expression: <expr>". An expression that cannot be
// evaluated is a violation under failurePolicy Fail (the default) and nothing under Ignore.
// Violations of a binding with the Deny action refuse the write, in Kubernetes' words; Warn and
// Audit let it through.
//
// Pure but for the params: the object layer hands in a lookup of a binding's param objects.

import { BerthError, type ErrorCode } from '../../proto/errors';
import { CelEvaluationError, celText, compileCel, toCelValue } from '../../proto/cel';
import {
  KINDS, matchesLabelSelector, type KindInfo,
  type LabelSelector, type MatchResources, type Namespace, type NamedRuleWithOperations, type Resource, type ValidatingAdmissionPolicy, type ValidatingAdmissionPolicyBinding,
} from '../../proto/resources';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** The write being admitted. */
export interface PolicyRequest {
  operation: AdmissionOperation;
  /** The object as it will be stored (absent for DELETE). */
  object?: Resource;
  /** The object as it is stored (UPDATE, DELETE). */
  oldObject?: Resource;
  /** The object's namespace (absent for cluster-scoped objects). */
  namespace?: Namespace;
}

/** A binding's param objects, or undefined when it names none that exist. */
export type ParamsLookup = (binding: ValidatingAdmissionPolicyBinding, policy: ValidatingAdmissionPolicy, request: PolicyRequest) => Promise<Resource[] | undefined>;

const REASON_CODE: Record<string, [ErrorCode, string]> = {
  Invalid: ['invalid-argument', 'is invalid'],
  RequestEntityTooLarge: ['invalid-argument', 'is invalid'],
  Forbidden: ['permission-denied', 'is forbidden'],
  Unauthorized: ['unauthenticated', 'is forbidden'],
};

/** Refuse the write with the first denial of the policies in force; resolves when none denies. */
export async function admitByPolicies(
  policies: readonly ValidatingAdmissionPolicy[], bindings: readonly ValidatingAdmissionPolicyBinding[], request: PolicyRequest, params: ParamsLookup,
): Promise<void> {
  const target = request.object ?? request.oldObject;
  if (!target || bindings.length === 0) return;
  // The policies and their bindings are never subject to them, as in Kubernetes: a policy that
  // refused every write would otherwise refuse its own repair.
  if (target.kind === 'ValidatingAdmissionPolicy' || target.kind === 'ValidatingAdmissionPolicyBinding') return;
  const info = KINDS.find((k) => k.kind === target.kind);
  if (!info) return;
  const resource = resourceOf(info);
  for (const binding of bindings) {
    const policy = policies.find((p) => p.metadata.name === binding.spec.policyName);
    if (!policy || !binding.spec.validationActions.includes('Deny')) continue;
    if (!matches(policy.spec.matchConstraints, request, resource, false) || !matches(binding.spec.matchResources, request, resource, true)) continue;
    const deny = (reason: string | undefined, message: string): BerthError => {
      const [code, verb] = REASON_CODE[reason ?? 'Invalid'] ?? REASON_CODE.Invalid!;
      return new BerthError(code, `${info.plural} "${target.metadata.name ?? ''}" ${verb}: ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: ${message}`);
    };
    let paramObjects: Array<Resource | undefined> = [undefined];
    if (policy.spec.paramKind && binding.spec.paramRef) {
      const found = await params(binding, policy, request);
      if (!found || found.length === 0) {
        // Missing params under Deny are a configuration error, which failurePolicy decides.
        const denies = (binding.spec.paramRef.parameterNotFoundAction ?? 'Deny') === 'Deny' && (policy.spec.failurePolicy ?? 'Fail') === 'Fail';
        if (denies) throw deny(undefined, 'failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction');
        continue;
      }
      paramObjects = found;
    }
    for (const param of paramObjects) {
      const violation = evaluate(policy, request, resource, param);
      if (violation) throw deny(violation.reason, violation.message);
    }
  }
}

/** A kind's group, version, plural and scope, as admission rules name them. */
export function resourceOf(info: KindInfo): AdmissionResource {
  return { group: info.apiVersion.includes('/') ? info.apiVersion.split('/')[0]! : '', version: info.apiVersion.split('/').pop()!, resource: info.plural, namespaced: info.namespaced };
}

export interface AdmissionResource {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

/** The CEL variables every admission expression sees: object, oldObject, request (and namespaceObject). */
export function celRequestBindings(request: PolicyRequest, resource: AdmissionResource): Record<string, unknown> {
  const target = request.object ?? request.oldObject!;
  return {
    object: request.object ? toCelValue(request.object) : null,
    oldObject: request.oldObject ? toCelValue(request.oldObject) : null,
    namespaceObject: request.namespace ? toCelValue(request.namespace) : null,
    // The registry does not know who writes: the user is unnamed and in no group.
    request: toCelValue({
      operation: request.operation, name: target.metadata.name ?? '', namespace: target.metadata.namespace ?? '', dryRun: false,
      kind: { group: resource.group, version: resource.version, kind: target.kind }, resource: { group: resource.group, version: resource.version, resource: resource.resource }, userInfo: { username: '', groups: [] },
    }),
  };
}

interface Violation {
  reason?: string;
  message: string;
}

/** One policy against one request and param: the first violation, if any. */
function evaluate(policy: ValidatingAdmissionPolicy, request: PolicyRequest, resource: AdmissionResource, param: Resource | undefined): Violation | undefined {
  const failClosed = (policy.spec.failurePolicy ?? 'Fail') === 'Fail';
  const variables = new Map<string, unknown>();
  const bindings: Record<string, unknown> = { ...celRequestBindings(request, resource), params: param ? toCelValue(param) : null, variables };
  const run = (expression: string) => compileCel(expression)(bindings);
  const failure = (expression: string, err: unknown): Violation | undefined => {
    if (!(err instanceof CelEvaluationError)) throw err;
    return failClosed ? { message: `expression '${expression}' resulted in error: ${err.message}` } : undefined;
  };
  for (const condition of policy.spec.matchConditions ?? []) {
    try {
      if (run(condition.expression) !== true) return undefined;
    } catch (err) {
      return failure(condition.expression, err);
    }
  }
  for (const variable of policy.spec.variables ?? []) {
    // A variable that fails is left out: an expression reading it fails in its turn.
    try {
      variables.set(variable.name, run(variable.expression));
    } catch (err) {
      if (!(err instanceof CelEvaluationError)) throw err;
    }
  }
  for (const validation of policy.spec.validations ?? []) {
    let passed: unknown;
    try {
      passed = run(validation.expression);
    } catch (err) {
      const violation = failure(validation.expression, err);
      if (violation) return { ...violation, ...(validation.reason ? { reason: validation.reason } : {}) };
      continue;
    }
    if (passed === true) continue;
    let message = validation.message ?? `failed expression: ${validation.expression}`;
    if (validation.messageExpression) {
      try {
        message = celText(run(validation.messageExpression));
      } catch {
        // Kubernetes falls back to the static message when messageExpression fails.
      }
    }
    return { message, ...(validation.reason ? { reason: validation.reason } : {}) };
  }
  return undefined;
}

/** Whether a policy's matchConstraints (or a binding's matchResources) cover the request. */
export function matches(match: MatchResources | undefined, request: PolicyRequest, resource: AdmissionResource, isBinding: boolean): boolean {
  // A policy covers nothing without rules; a binding without matchResources narrows nothing.
  if (!match) return isBinding;
  const target = request.object ?? request.oldObject!;
  const name = target.metadata.name ?? '';
  const ruleMatches = (rule: NamedRuleWithOperations) => {
    const has = (list: readonly string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);
    const scope = rule.scope ?? '*';
    return has(rule.apiGroups, resource.group) && has(rule.apiVersions, resource.version) && has(rule.operations, request.operation)
      && ((rule.resources ?? []).some((r) => r === '*' || r === '*/*' || r === resource.resource))
      && (!rule.resourceNames?.length || rule.resourceNames.includes(name))
      && (scope === '*' || (scope === 'Namespaced') === resource.namespaced);
  };
  if (match.resourceRules ? !match.resourceRules.some(ruleMatches) : !isBinding) return false;
  if ((match.excludeResourceRules ?? []).some(ruleMatches)) return false;
  const selects = (selector: LabelSelector | undefined, labels: Record<string, string> | undefined) => selector === undefined || matchesLabelSelector(labels ?? {}, selector);
  // A namespace selector looks at the object's namespace; a Namespace is its own.
  const namespaceLabels = target.kind === 'Namespace' ? target.metadata.labels : request.namespace?.metadata.labels;
  if (resource.namespaced || target.kind === 'Namespace') {
    if (!selects(match.namespaceSelector, namespaceLabels)) return false;
  }
  const objectMatches = [request.object, request.oldObject].some((o) => o && selects(match.objectSelector, o.metadata.labels));
  return objectMatches;
}
