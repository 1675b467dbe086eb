// What starts a dyno's command on either runtime: Heroku's runtime contract, in one fixed script.

/** A command made of plain words only (bash regex; the first word has no `=`, which would make it an assignment). */
const PLAIN_COMMAND = String.raw`^[A-Za-z0-9_./-]+(\ +[A-Za-z0-9_./:=@%+,-]+)*\ *$`;

/**
 * Sources the app's `.profile.d/*.sh` (in name order) and then its `.profile`, from the app's root
 * (the working directory), in the dyno's own bash, as Heroku does before every process; then runs
 * the command, which arrives as `$1` and is never spliced into this text. What a script exports
 * reaches the command; what it prints goes to the dyno's output; a failing command in it does not
 * stop the dyno (it is sourced, not run under `set -e`), but an `exit` in it does, as on Heroku.
 * The positional parameters are cleared first, so a script sees none of paas's.
 */
const PROFILE_SCRIPT = [
  'paas_command=$1',
  'set --',
  'for paas_profile in .profile.d/*.sh; do',
  '  if [ -f "$paas_profile" ]; then . "./$paas_profile"; fi',
  'done',
  'unset paas_profile',
  'if [ -f .profile ]; then . ./.profile; fi',
  // A plain command (words of letters, digits and ./_-:=@%+, with no quote, no $, no glob, no
  // operator), whose first word is a program (not a builtin, a keyword or a function the profile
  // made, none of which a fresh bash would run as a program), is what `bash -c` would exec at once: it
  // is exec'd here, split on spaces, with no glob, one bash fewer on every start (issue 23). With
  // BASH_ENV set, `bash -c` would read it first: then, as for every other command, a fresh bash.
  `if [[ -z \${BASH_ENV-} && $paas_command =~ ${PLAIN_COMMAND} ]]; then`,
  '  paas_first=${paas_command%% *}',
  '  case $paas_first in if|then|else|elif|fi|case|esac|for|select|while|until|do|done|in|function|time|coproc) paas_first= ;; esac',
  '  if [[ -n $paas_first ]] && ! declare -F -- "$paas_first" >/dev/null && { [[ $paas_first == */* ]] || { hash -- "$paas_first" 2>/dev/null && [[ -n ${BASH_CMDS[$paas_first]-} ]]; }; }; then',
  "    set -f; IFS=' '; exec $paas_command",
  '  fi',
  'fi',
  // A fresh bash for the command, as Procfile commands always ran: it execs a lone command, so the
  // app itself holds the dyno and gets its signals.
  'exec /bin/bash -c "$paas_command"',
].join('\n');

/**
 * The argv that runs a Procfile (or `paas run`) command given as its last argument: `bash -c`, and
 * for a buildpack app (`profile`) the script above first. An app built from its own Dockerfile
 * runs its command as is: its image defines its environment, as on Dokku.
 */
export function launcher(profile: boolean): string[] {
  return profile ? ['/bin/bash', '-c', PROFILE_SCRIPT, 'paas-launch'] : ['/bin/bash', '-c'];
}
