// List and watch filters from Kubernetes' label and field selector strings, compiled once per
// request (a bad selector fails the request with the position of the bad part).

import { matchesFieldSelector, matchesRequirements, parseFieldSelector, parseLabelSelector, type FieldSource } from '../../proto/resources';
import type { ObjectFilter } from './types';

export function compileFilter(labelSelector: string, fieldSelector: string): ObjectFilter | undefined {
  if (!labelSelector.trim() && !fieldSelector.trim()) return undefined;
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector);
  return (obj) => matchesRequirements(obj.metadata.labels, labels) && matchesFieldSelector(obj as FieldSource, fields);
}
