// What a release says about its dynos while they boot and when they fail to: the words users read
// in their push or CLI output. The runner decides what happened; this file says it.

/**
 * The push output of a release with no web process: nothing answers at the app's URL, and the
 * other types it declares run only once scaled.
 */
export function noWebNotice(processTypes: Record<string, string>): string[] {
  const others = Object.keys(processTypes).filter((t) => t !== 'release');
  const lines = ['-----> No web process type: nothing answers HTTP for this app.'];
  if (others.length) lines.push(`       Its other process types (${others.join(', ')}) start with no dynos: scale them with \`paas ps:scale ${others[0]}=1\`.`);
  return lines;
}
