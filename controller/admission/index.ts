// What the rest of the controller may import from admission (see types.ts for the levels and when
// pods are checked), LimitRanges (limit-range.ts), ResourceQuotas (quota.ts), admission policies
// and webhooks. Pure but for webhook-client.ts (the webhooks' HTTPS calls): the object layer reads
// the namespace, the ranges, the quotas and the configurations, and calls these.

export { admitPod, enforcedLevel, podSecurityViolation, violations } from './policy';
export {
  DEFAULT_LEVEL, ENFORCE_LABEL, ENFORCE_VERSION_LABEL, POD_SECURITY_LEVELS,
  type PodSecurityLevel, type PodSecurityView,
} from './types';
export { SYSTEM_PRIORITY_CLASSES, withPriority } from './priority';
export { applyLimitRanges, checkClaimLimits } from './limit-range';
export { asResourceList, chargeQuota, quotaCounts, quotaKinds, quotaUsed, usageOf, type Usage } from './quota';
export { amounts } from './resource-amounts';
export { admitByPolicies, type AdmissionOperation, type ParamsLookup, type PolicyRequest } from './validating-policy';
export { mutateByWebhooks, validateByWebhooks, type AdmissionResponse, type AdmissionReview, type WebhookCall } from './webhooks';
export { webhookCaller, type ServiceEndpoint } from './webhook-client';
