// The EndpointSlice controller's pure decision (its loop is ./loop.ts).
export { plan, isManaged, selectedBy, selectsPods, serviceNameOf, MANAGED_BY, DEFAULT_MAX_ENDPOINTS_PER_SLICE, type EndpointSliceAction } from './plan';
export { mirrorPlan, isMirrored, MIRROR_MANAGED_BY, SKIP_MIRROR_LABEL } from './mirror';
