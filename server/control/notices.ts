// What happened to an app while no one watched, told once in the next command about it: a release
// put back after its push returned (dynos/trial.ts) is in `paas releases` and `paas logs`, and also
// in the next `paas … -a APP` or `git push` its owner runs, so they need not go looking (issue 23).
// Kept in memory: a server restart forgets them; releases and logs still say it.

/** A few lines per app at most: the newest say what matters. */
const MAX_PER_APP = 5;

/** Notices per app, each handed out once (`take`). */
export class Notices {
  private readonly byApp = new Map<string, string[]>();

  add(app: string, text: string): void {
    const list = [...(this.byApp.get(app) ?? []), text].slice(-MAX_PER_APP);
    this.byApp.set(app, list);
  }

  /** The app's notices not yet shown, now marked shown. */
  take(app: string): string[] {
    const list = this.byApp.get(app) ?? [];
    this.byApp.delete(app);
    return list;
  }

  /** Forgets an app (destroyed). */
  forget(app: string): void {
    this.byApp.delete(app);
  }
}
