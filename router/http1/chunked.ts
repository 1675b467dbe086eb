/**
 * Finds where a chunked body ends (RFC 9112 7.1) without decoding it: the router forwards the chunks
 * as they are and only needs the boundary, to know when the message is over and what follows is the
 * next one. Strict like the head parser: a malformed chunk line ends the connection.
 */

const enum S {
  Size,
  SizeWs,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  LastLf,
  Done,
}

// 13 hex digits stay below 2^53, so the count of bytes left is exact; past that a double would round
// and the router would end the chunk elsewhere than the dyno.
const MAX_SIZE_DIGITS = 13;
const MAX_LINE = 8192;

export class ChunkedError extends Error {}

export class ChunkedScanner {
  private state = S.Size;
  private remaining = 0;
  private digits = 0;
  private lineBytes = 0;

  get done(): boolean {
    return this.state === S.Done;
  }

  /**
   * Scans `buf` from `start`; returns the index just after the body's last byte if it ends in
   * `buf`, else -1 (all of `buf` belongs to the body). Throws ChunkedError on malformed framing.
   */
  scan(buf: Uint8Array, start = 0): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      const c = buf[i];
      switch (this.state) {
        case S.Size: {
          const v = hex(c);
          if (v >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) throw new ChunkedError('chunk size too large');
            this.remaining = this.remaining * 16 + v;
          } else if (this.digits === 0) throw new ChunkedError('missing chunk size');
          else if (c === 0x0d) this.state = S.SizeLf;
          else if (c === 0x3b /* ; */) this.state = S.Ext;
          else if (c === 0x20 || c === 0x09) this.state = S.SizeWs;
          else throw new ChunkedError('invalid chunk size');
          this.lineBytes = 0;
          i++;
          break;
        }
        case S.SizeWs:
          // Whitespace after the size may only lead to an extension (BWS ";"): `5 x` is no size at all.
          if (c === 0x3b) this.state = S.Ext;
          else if (c === 0x0d) this.state = S.SizeLf;
          else if ((c !== 0x20 && c !== 0x09) || ++this.lineBytes > MAX_LINE) throw new ChunkedError('invalid chunk size');
          i++;
          break;
        case S.Ext:
          // Extensions pass through unread, but never with a control byte another parser may split on.
          if (c === 0x0d) this.state = S.SizeLf;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f || ++this.lineBytes > MAX_LINE) throw new ChunkedError('invalid chunk extension');
          i++;
          break;
        case S.SizeLf:
          if (c !== 0x0a) throw new ChunkedError('chunk size line without LF');
          this.digits = 0;
          this.state = this.remaining === 0 ? S.TrailerStart : S.Data;
          i++;
          break;
        case S.Data: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (c !== 0x0d) throw new ChunkedError('chunk data without CRLF');
          this.state = S.DataLf;
          i++;
          break;
        case S.DataLf:
          if (c !== 0x0a) throw new ChunkedError('chunk data without CRLF');
          this.state = S.Size;
          i++;
          break;
        case S.TrailerStart:
          if (c === 0x0a || (c < 0x20 && c !== 0x09 && c !== 0x0d) || c === 0x7f) throw new ChunkedError('invalid trailer line');
          this.state = c === 0x0d ? S.LastLf : S.TrailerLine;
          this.lineBytes = 1;
          i++;
          break;
        case S.TrailerLine:
          if (c === 0x0d) this.state = S.TrailerLf;
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f || ++this.lineBytes > MAX_LINE) throw new ChunkedError('invalid trailer line');
          i++;
          break;
        case S.TrailerLf:
          if (c !== 0x0a) throw new ChunkedError('trailer line without LF');
          this.state = S.TrailerStart;
          i++;
          break;
        case S.LastLf:
          if (c !== 0x0a) throw new ChunkedError('last chunk without CRLF');
          this.state = S.Done;
          return i + 1;
        case S.Done:
          return i;
      }
    }
    return -1;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
