// JSON control files of a pushed tree (package.json, app.json), parsed the way the tool that
// defines each reads it, with errors that say where: "app.json line 4, column 12: unexpected '}'".
// jsonc-parser (Microsoft's, VS Code's own) finds the error and its offset; the value itself always
// comes from JSON.parse, so a file means here exactly what it means to npm.
import { createScanner, parse, type ParseError, ParseErrorCode, SyntaxKind } from 'jsonc-parser';
import { BuildError } from './errors.js';
import { excerpt } from './safe-fs.js';

/**
 * `json`: strict JSON, as npm reads package.json. `jsonc`: JSON with `//` and `/* *\/` comments and
 * trailing commas, as Dokku reads app.json (and tsconfig.json is written).
 */
export type JsonDialect = 'json' | 'jsonc';

const OPTIONS = {
  json: { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  jsonc: { disallowComments: false, allowTrailingComma: true, allowEmptyContent: false },
} as const;

/** 1-based line and column of `offset`; a column counts characters, as editors do. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: [...before.slice(lineStart)].length + 1 };
}

/** One character of the file, as the message shows it: never more, so a secret on that line stays out. */
function shown(ch: string): string {
  return /^[\x21-\x7e]$/.test(ch) ? `'${ch}'` : `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * What went wrong at the error, and where exactly: string-level errors are reported at the string's
 * start by the parser, so the offending character inside it is looked for.
 */
function describe(text: string, err: ParseError, file: string): { offset: number; what: string } {
  const token = text.slice(err.offset, err.offset + err.length);
  const inside = (re: RegExp) => err.offset + Math.max(0, token.search(re));
  switch (err.error) {
    case ParseErrorCode.InvalidCharacter:
      // eslint-disable-next-line no-control-regex -- control characters are what it finds
      return { offset: inside(/[\x00-\x1f]/), what: 'a control character in a string (write a tab or a line break as \\t or \\n)' };
    case ParseErrorCode.InvalidEscapeCharacter:
      return { offset: inside(/\\(?!["\\/bfnrtu])/), what: 'an invalid escape in a string (a backslash is written \\\\)' };
    case ParseErrorCode.InvalidUnicode:
      return { offset: inside(/\\u(?![0-9a-fA-F]{4})/), what: 'an invalid \\u escape in a string (\\u and four hex digits)' };
    case ParseErrorCode.UnexpectedEndOfString:
      return { offset: err.offset, what: 'a string that is never closed' };
    case ParseErrorCode.UnexpectedEndOfComment:
      return { offset: err.offset, what: 'a comment that is never closed' };
    case ParseErrorCode.UnexpectedEndOfNumber:
      return { offset: err.offset, what: 'a number cut short' };
    case ParseErrorCode.InvalidCommentToken:
      return { offset: err.offset, what: `unexpected '/': ${file} is strict JSON, with no comments` };
  }
  if (err.offset >= text.length) return { offset: text.length, what: 'unexpected end of file' };
  const ch = String.fromCodePoint(text.codePointAt(err.offset)!);
  const hint = err.error === ParseErrorCode.CommaExpected ? ' (a comma missing before it?)' : err.error === ParseErrorCode.ColonExpected ? " (a ':' missing before it?)" : '';
  return { offset: err.offset, what: `unexpected ${shown(ch)}${hint}` };
}

/** The first syntax error of `text` in `dialect`, if any. */
function firstError(text: string, dialect: JsonDialect): ParseError | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, OPTIONS[dialect]);
  return errors[0];
}

/** Valid JSONC as strict JSON: the same tokens without comments and trailing commas. */
function withoutComments(text: string): string {
  const scanner = createScanner(text, true);
  const tokens: { kind: SyntaxKind; raw: string }[] = [];
  for (let kind = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    if (kind === SyntaxKind.LineCommentTrivia || kind === SyntaxKind.BlockCommentTrivia) continue;
    tokens.push({ kind, raw: text.slice(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength()) });
  }
  const closes = (t?: { kind: SyntaxKind }) => t?.kind === SyntaxKind.CloseBraceToken || t?.kind === SyntaxKind.CloseBracketToken;
  return tokens.filter((t, i) => !(t.kind === SyntaxKind.CommaToken && closes(tokens[i + 1]))).map((t) => t.raw).join('');
}

/**
 * Parses the JSON control file `file` of a pushed tree, or throws a BuildError that names the line
 * and column of the first syntax error and quotes at most one character of the file. A leading
 * byte-order mark is ignored, as npm does.
 */
export function parseJsonFile(file: string, raw: string, dialect: JsonDialect): unknown {
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  // Strict JSON is JSON.parse's to judge, as npm's; jsonc-parser only says where it went wrong.
  let v8Error: Error | undefined;
  if (dialect === 'json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      v8Error = e as Error;
    }
  }
  const err = firstError(text, dialect);
  if (err) {
    const { offset, what } = describe(text, err, file);
    const { line, column } = position(text, offset);
    throw new BuildError(`${file} line ${line}, column ${column}: ${what}. Fix it and push again.`);
  }
  try {
    if (v8Error) throw v8Error;
    return JSON.parse(withoutComments(text));
  } catch (e) {
    // The parsers disagree (no known case): V8 quotes the text around its error, so only what it says is kept.
    throw new BuildError(`${file} is not valid JSON (${excerpt((e as Error).message.split(/,\s*(?:\.\.\.)?"/)[0], 80)}). Fix it and push again.`);
  }
}
