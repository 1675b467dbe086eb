import readline from 'node:readline/promises';
import { CliError } from './errors.js';

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const ERASE = new Set(['\u007f', '\b']);

// Raw mode: every key comes to us and the terminal echoes none, so the secret is never on screen
// (nor in a terminal's scrollback or a screen recording). Raw mode also turns Ctrl-C into a plain
// byte instead of SIGINT, so it is handled here, and the terminal is always put back.
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (err?: CliError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ENTER.has(ch) || (ch === CTRL_D && !chars.length)) return finish();
        if (ch === CTRL_C) return finish(new CliError('Cancelled.'));
        if (ERASE.has(ch)) chars = chars.slice(0, -1);
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

async function readFirstLine(): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  try {
    const first = await rl[Symbol.asyncIterator]().next();
    return first.done ? '' : first.value;
  } finally {
    rl.close();
  }
}

/**
 * Reads a secret such as a token: typed at a terminal without echo (the prompt goes to stderr), or
 * the first line of piped stdin (`echo $TOKEN | paas login`). Surrounding whitespace is dropped.
 */
export async function readSecret(prompt: string): Promise<string> {
  const text = process.stdin.isTTY ? await readHidden(prompt) : await readFirstLine();
  return text.trim();
}
