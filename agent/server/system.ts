// The System service: what the agent says of itself (`berth version`).

import type { SystemHandlers } from '../../proto/gen/berth/agent/v1/System';
import { versionInfo } from '../../proto/version';
import { unary } from './unary';

export function systemHandlers(): SystemHandlers {
  return {
    Version: unary(() => versionInfo()),
  };
}
