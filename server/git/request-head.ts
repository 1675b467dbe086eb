import type { Readable } from 'node:stream';

/** A flush packet: the whole body of git's probe request, and a request with no commands. */
export const FLUSH = Buffer.from('0000');

/**
 * Reads a request body until it holds more than a flush packet or ends, then pauses it with
 * nothing lost: `head` is what was read, `ended` says it was all. git sends a pack bigger than
 * its http.postBuffer only after a probe request whose body is exactly FLUSH.
 */
export function readHead(body: Readable): Promise<{ head: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (ended: boolean): void => {
      body.off('data', onData).off('end', onEnd).off('error', reject);
      body.pause();
      resolve({ head: Buffer.concat(chunks), ended });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > FLUSH.length) finish(false);
    };
    const onEnd = (): void => finish(true);
    body.on('data', onData).on('end', onEnd).once('error', reject);
  });
}
