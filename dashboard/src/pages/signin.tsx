// The sign-in view, shown whenever there is no session. The token goes in the body of one POST
// (never in a URL); the server answers with an HttpOnly cookie the page's script cannot read.
import { useState } from 'preact/hooks';
import { signIn } from '../api.js';

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [status, setStatus] = useState('');
  const [error, setError] = useState(notice ?? '');
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    setError('');
    setStatus('Signing in…');
    try {
      await signIn(token.trim());
      setStatus('Signed in');
      onSignedIn();
    } catch (err) {
      setStatus('');
      setError((err as Error).message);
    }
  };
  return (
    <main class="page signin">
      <h1 tabIndex={-1}>Sign in to paas</h1>
      <form method="post" onSubmit={(e) => void submit(e)}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellcheck={false} required value={token} onInput={(e) => setToken(e.currentTarget.value)} aria-describedby="token-hint" />
        <p id="token-hint" class="hint">
          The server printed it when it first started. On the server's machine, <code>paas auth:token</code> prints it again.
        </p>
        <button type="submit" class="primary" disabled={status === 'Signing in…'}>
          Sign in
        </button>
        <p role="status">{status}</p>
        {error && <p role="alert">{error}</p>}
      </form>
    </main>
  );
}
