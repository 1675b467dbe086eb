// What `paas ps` and the dyno log show as a process's command. A Node app's web process without a
// Procfile runs its start script under the lifecycle variables npm would set
// (builder/buildpacks/npm-start.ts startCommand): `export npm_lifecycle_event=start
// npm_lifecycle_script='…'; <script>`. That prefix is plumbing, not what the user wrote: shown, the
// command is the script alone.

const START_PREFIX = /^export npm_lifecycle_event=start npm_lifecycle_script='((?:[^']|'\\'')*)'; /;

/** `command` as a person reads it: a start script's command without its lifecycle exports. */
export function shownCommand(command: string): string {
  const match = START_PREFIX.exec(command);
  if (!match) return command;
  const script = command.slice(match[0].length);
  // Only the exact form startCommand makes: the quoted script is the command that follows it.
  return match[1].replaceAll("'\\''", "'") === script ? script : command;
}
