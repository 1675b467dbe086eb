// Heroku's runtime contract on the docker runtime: .profile.d before the web dyno, the release phase
// and `paas run` (a Procfile type by its name), and a web dyno on the wrong port named at once,
// read from the container's own network namespace. test/app-conventions.test.ts has the rest.
import { beforeAll, expect, it } from 'vitest';
import { dockerSuite, dockerTestEnv, removeWhenDone } from '../helpers/docker.js';
import { conventionsApp, fixedPortApp } from '../helpers/fixtures.js';
import { createApp, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';
import { paasRun } from '../helpers/run.js';

const APP = 'dockerconv';
const WRONG = 'dockerport';

dockerSuite("Heroku's runtime contract (docker runtime)", () => {
  let paas: Paas;
  let output: string;
  beforeAll(async () => {
    // A boot timeout far above the wrong-port grace: a dyno on the wrong port must be named long before it.
    paas = await startPaas({ ...dockerTestEnv(), PAAS_BOOT_TIMEOUT_MS: '60000' });
    await removeWhenDone(paas, [APP, WRONG]);
    await createApp(paas, APP);
    const pushed = await push(paas, await gitRepo(paas, conventionsApp), APP);
    expect(pushed.code, pushed.stderr).toBe(0);
    output = pushed.stderr;
  }, 300_000);

  it('sources .profile.d/*.sh and .profile before the web dyno, the release phase and paas run TYPE', async () => {
    expect(output).toContain('release sees from-profile-d');
    const env = JSON.parse((await viaRouter(paas, `${APP}.localhost`)).body) as Record<string, string | null>;
    expect(env).toEqual({ PROFILE_VAR: 'from-profile-d', SECOND_VAR: 'from-profile-d+second', FROM_PROFILE: 'from-profile-d+second+profile', IGNORED: null });
    const typed = await paasRun(paas, APP, ['console', 'a', 'b c']);
    expect(typed.stdout, typed.stderr).toBe('profile.d says hello\nconsole|from-profile-d|--from-procfile|a|b c\n');
  });

  it('names a web dyno that listens on another port than $PORT at once', async () => {
    await createApp(paas, WRONG);
    const pushed = await push(paas, await gitRepo(paas, fixedPortApp(3000)), WRONG);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/web\.1 is listening on port 3000, not on \$PORT \(\d+\): make it listen on process\.env\.PORT/);
  });
});
