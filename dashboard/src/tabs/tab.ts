import type { Resource } from '../resource.js';
import type { App } from '../types.js';

/** What every tab of the app page is given: the app's name and its `GET /v1/apps/:name`, shared with the page's header. */
export interface TabProps {
  app: string;
  info: Resource<App>;
}
