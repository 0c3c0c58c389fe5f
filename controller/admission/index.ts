// What the rest of the controller may import from admission (see types.ts for the levels and when
// pods are checked). Pure: the object layer reads the namespace and calls admitPod.

export { admitPod, enforcedLevel, podSecurityViolation, violations } from './policy';
export {
  DEFAULT_LEVEL, ENFORCE_LABEL, ENFORCE_VERSION_LABEL, POD_SECURITY_LEVELS,
  type PodSecurityLevel, type PodSecurityView,
} from './types';
export { SYSTEM_PRIORITY_CLASSES, withPriority } from './priority';
