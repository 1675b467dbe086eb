// Every action the dashboard takes reports in one place: its progress ("Scaling web to 2…") and then
// its result ("Scaled web to 2") in the page's one role="status" element, or the API's message in a
// role="alert" one. One action runs at a time; the controls that start one are disabled meanwhile.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useMemo, useState } from 'preact/hooks';

interface Report {
  status: string;
  error: string;
  busy: boolean;
}

export interface Actions {
  /**
   * Shows `progress`, runs `work`, then shows the text it resolves to, or its error's message.
   * Resolves to whether it succeeded.
   */
  run(progress: string, work: () => Promise<string>): Promise<boolean>;
  /** A result to show without work to wait for (a copy to the clipboard). */
  say(status: string): void;
  busy: boolean;
}

const Context = createContext<Actions>({ run: () => Promise.resolve(false), say: () => undefined, busy: false });
const ReportContext = createContext<{ report: Report; dismiss: () => void }>({ report: { status: '', error: '', busy: false }, dismiss: () => undefined });

export function useActions(): Actions {
  return useContext(Context);
}

export function ActionsProvider({ children }: { children: ComponentChildren }) {
  const [report, setReport] = useState<Report>({ status: '', error: '', busy: false });
  const run = useCallback(async (progress: string, work: () => Promise<string>) => {
    setReport({ status: progress, error: '', busy: true });
    try {
      const result = await work();
      setReport({ status: result, error: '', busy: false });
      return true;
    } catch (err) {
      setReport({ status: '', error: err instanceof Error ? err.message : String(err), busy: false });
      return false;
    }
  }, []);
  const say = useCallback((status: string) => setReport({ status, error: '', busy: false }), []);
  const dismiss = useCallback(() => setReport((r) => (r.busy ? r : { status: '', error: '', busy: false })), []);
  const actions = useMemo(() => ({ run, say, busy: report.busy }), [run, say, report.busy]);
  const reported = useMemo(() => ({ report, dismiss }), [report, dismiss]);
  return (
    <Context.Provider value={actions}>
      <ReportContext.Provider value={reported}>{children}</ReportContext.Provider>
    </Context.Provider>
  );
}

/** The status and alert elements, fixed at the bottom of the window so they never move the page. */
export function ActionReport() {
  const { report, dismiss } = useContext(ReportContext);
  const shown = report.status || report.error;
  return (
    <div class={`report${shown ? ' shown' : ''}`}>
      <p role="status" class={report.busy ? 'busy' : undefined}>
        {report.status}
      </p>
      {report.error && <p role="alert">{report.error}</p>}
      {shown && !report.busy && (
        <button type="button" class="link" onClick={dismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
