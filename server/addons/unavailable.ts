import { PaasError } from '../errors.js';
import type { AddonServices } from './types.js';

const unavailable = () => new PaasError('addons_unavailable', 503, 'Add-ons are not available on this paas server: its runtime has no add-on services yet. Upgrade paas.');

/**
 * TODO(issue 14): stands in until the runtimes' AddonServices are merged (`ProcessAddons` from
 * ./process/index.js on the process runtime, the Docker one on docker); then main.ts uses those and
 * this file goes. Every call that needs a server refuses with a 503; with no add-on running,
 * stopping them all has nothing to do.
 */
export function addonsUnavailable(): AddonServices {
  const refuse = () => Promise.reject(unavailable());
  return {
    provision: refuse,
    start: refuse,
    stop: refuse,
    destroy: refuse,
    url: () => {
      throw unavailable();
    },
    stopAll: () => Promise.resolve(),
    capture: refuse,
    restore: refuse,
  };
}
