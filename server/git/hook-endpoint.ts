import type { Request, Response } from 'express';
import { InvalidParamsError, PaasError } from '../../lib/errors.js';
import { deployCommit, isUserFailure } from '../control/deploy.js';
import { failureMessage } from '../control/releases.js';
import { boundedLines } from '../http/bounded-output.js';
import type { Deps } from '../control/deps.js';
import { RESULT_MARKER, type HookResult } from './hook-protocol.cjs';
import { PUSH_CANCELLED, type Pushes } from './pushes.js';

/**
 * POST /apps/:app/pushes/:id/deploy?commit=SHA on the hook socket (hook-server.ts), called by our
 * pre-receive hook with the commit's tree as a tar body. Streams the build back as text and ends
 * with the result line.
 */
export function hookEndpoint(deps: Deps, pushes: Pushes) {
  return async (req: Request, res: Response): Promise<void> => {
    const commit = String(req.query.commit ?? '');
    // Thrown errors leave through the hook server's error handler, as `{ id, message }`.
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new InvalidParamsError('commit must be a full hex object id.');
    // Checked after the commit, so a malformed call cannot use up the push's only claim.
    const push = pushes.claim(String(req.params.app), String(req.params.id), req.get('x-paas-hook-secret'));
    if (!push) throw new PaasError('forbidden', 403, 'Unknown or used push, or a secret that does not match it: push again.');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    const log = boundedLines(res);
    const finish = (result: HookResult) => res.end(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
    // If the hook goes away before it hears the result, git rejects the push and the branch stays:
    // the release must not go live behind the pusher's back.
    res.on('close', () => {
      if (!res.writableFinished) push.cancel.abort(PUSH_CANCELLED);
    });
    const deploying = deployCommit({ app: push.app, commit, source: req, log, createdBy: `${push.actor} (git push)`, signal: push.cancel.signal }, deps);
    push.deploying = deploying.catch(() => undefined);
    try {
      await deploying;
      finish({ ok: true });
    } catch (err) {
      if (!isUserFailure(err)) console.error('deploy failed:', err);
      finish({ ok: false, message: failureMessage(err) });
    }
  };
}
