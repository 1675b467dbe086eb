import type { Deps } from '../control/deps.js';
import type { OneOffs } from '../control/one-offs.js';

/** What the API hands its handlers: the control plane's deps, and the one-off dynos (`paas run`) it numbers. */
export type ApiDeps = Deps & { runs: OneOffs };
