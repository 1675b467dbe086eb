import WebSocket from 'ws';

/** The HTTP answer to a websocket upgrade the server refuses; rejects if it upgrades instead. */
export function refusal(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    ws.once('open', () => reject(new Error('upgraded')));
    ws.on('error', () => undefined);
  });
}
