import type { Command } from 'commander';
import { escapeControls, terminalSafeJson } from '../../lib/control-chars.js';
import { api } from '../api.js';
import { CliError, parseCount } from '../errors.js';
import { appOption, resolveApp } from '../app-option.js';
import { tailLogs } from '../log-tail.js';
import type { LogLine } from '../types.js';

interface LogsOptions {
  app?: string;
  num: string;
  tail?: boolean;
  ps?: string;
  source?: string;
  json?: boolean;
}

const SOURCES = ['app', 'paas', 'router'];

/**
 * Lines as text (or JSON, one object a line), in one write. The app's output reaches a terminal
 * here: its control characters are shown as `\xNN`, never acted on (the server keeps them as the
 * app wrote them, for drains and --json).
 */
function printer(asJson: boolean): (lines: LogLine[]) => void {
  return (lines) => {
    let text = '';
    for (const l of lines) text += asJson ? `${terminalSafeJson({ time: l.time, source: l.source, line: l.line })}\n` : `${l.time} ${escapeControls(l.source)}: ${escapeControls(l.line)}\n`;
    process.stdout.write(text);
  };
}

export default function register(program: Command): void {
  program
    .command('logs')
    .description("show an app's recent log lines (dyno output, platform events, router requests); -t follows them")
    .addOption(appOption())
    .option('-n, --num <lines>', 'number of lines to show (at most the history the server keeps: PAAS_LOG_HISTORY, 1500 by default)', '100')
    .option('-t, --tail', 'keep showing new lines as they come, until Ctrl-C')
    .option('--ps <dyno>', 'only lines of a dyno (web.1) or of every dyno of a process type (web)')
    .option('--source <source>', 'only lines from app (dyno output), paas (the platform) or router')
    .option('--json', 'output one JSON object per line: {time, source, line}')
    .action(async (opts: LogsOptions) => {
      const n = parseCount(opts.num, 1_000_000);
      if (opts.source !== undefined && !SOURCES.includes(opts.source)) throw new CliError(`--source must be one of ${SOURCES.join(', ')}, not ${JSON.stringify(opts.source)}.`);
      const app = await resolveApp(opts.app);
      const print = printer(opts.json === true);
      if (opts.tail) {
        // Ctrl-C is how a tail ends: not a failure.
        process.once('SIGINT', () => process.exit(0));
        await tailLogs({ app, lines: n, ps: opts.ps, source: opts.source, print, notice: (text) => process.stderr.write(`${text}\n`) });
      }
      const params = new URLSearchParams({ lines: String(n) });
      if (opts.ps) params.set('ps', opts.ps);
      if (opts.source) params.set('source', opts.source);
      print(await api<LogLine[]>('GET', `/v1/apps/${encodeURIComponent(app)}/logs?${params}`));
    });
}
