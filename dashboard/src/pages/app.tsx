// An app's page: its name, status and tabs. Each tab fetches what it shows and fetches it again on
// the app's events; the tabs are links (/apps/<name>/<tab>), so each has its own address.
import type { JSX } from 'preact';
import { appPath } from '../api.js';
import { StatusDot } from '../components/status-dot.js';
import { useResource } from '../resource.js';
import { appHref, followLink, navigate, type Tab, TABS } from '../router.js';
import { appStatus, STATUS_LABEL } from '../status.js';
import { ActivityTab } from '../tabs/activity.js';
import { AddonsTab } from '../tabs/addons.js';
import { DomainsTab } from '../tabs/domains.js';
import { LogsTab } from '../tabs/logs.js';
import { MaintenanceTab } from '../tabs/maintenance.js';
import { OverviewTab } from '../tabs/overview.js';
import { SettingsTab } from '../tabs/settings.js';
import type { TabProps } from '../tabs/tab.js';
import type { App } from '../types.js';

const LABEL: Record<Tab, string> = {
  overview: 'Overview',
  activity: 'Activity',
  settings: 'Settings',
  logs: 'Logs',
  domains: 'Domains',
  maintenance: 'Maintenance',
  addons: 'Add-ons',
};

const PANELS: Record<Tab, (props: TabProps) => JSX.Element> = {
  overview: OverviewTab,
  activity: ActivityTab,
  settings: SettingsTab,
  logs: LogsTab,
  domains: DomainsTab,
  maintenance: MaintenanceTab,
  addons: AddonsTab,
};

export function AppPage({ app, tab }: { app: string; tab: Tab }) {
  const info = useResource<App>(appPath(app), app);
  const Panel = PANELS[tab];
  const status = info.data && appStatus(info.data);
  return (
    <main class="page">
      <div class="heading">
        <h1 tabIndex={-1}>{app}</h1>
        {status ? <StatusDot kind={status} label={STATUS_LABEL[status]} /> : <span class="dot-placeholder" />}
      </div>
      <Tabs app={app} tab={tab} />
      <div role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`} class="panel">
        {info.error?.status === 404 ? <p class="error">{info.error.message}</p> : <Panel app={app} info={info} />}
      </div>
    </main>
  );
}

/** The tab list: arrow keys, Home and End move between tabs (and open them), as the ARIA tabs pattern has it. */
function Tabs({ app, tab }: { app: string; tab: Tab }) {
  const onKeyDown = (e: KeyboardEvent) => {
    const at = TABS.indexOf(tab);
    const moves: Record<string, number> = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = TABS[(moves[e.key] + TABS.length) % TABS.length];
    navigate(appHref(app, next));
    requestAnimationFrame(() => document.getElementById(`tab-${next}`)?.focus());
  };
  return (
    <div role="tablist" aria-label={`${app} sections`} class="tabs" onKeyDown={onKeyDown}>
      {TABS.map((t) => (
        <a
          key={t}
          id={`tab-${t}`}
          role="tab"
          href={appHref(app, t)}
          aria-selected={t === tab}
          aria-controls={t === tab ? 'tab-panel' : undefined}
          tabIndex={t === tab ? 0 : -1}
          onClick={followLink(appHref(app, t))}
        >
          {LABEL[t]}
        </a>
      ))}
    </div>
  );
}
