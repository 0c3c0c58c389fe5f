// The service account controller's pure decision (its loop is ./loop.ts).
export { plan, DEFAULT_SERVICE_ACCOUNT, type CreateServiceAccount } from './plan';
