// What an image's USER line means for the dyno that runs it: root (replaced by the app's uid), ids
// the engine takes as they are, or a name only the image can resolve (a probe container).

/**
 * Whether a USER is `uid:gid` in digits, both above 0 with no leading zero and below 2^32 - 1: the
 * engine takes digits as ids, never as names, so these are the ids the dyno runs as.
 */
export function numericIds(user: string): boolean {
  const m = /^([1-9]\d{0,9}):([1-9]\d{0,9})$/.exec(user);
  return m !== null && Number(m[1]) < 2 ** 32 - 1 && Number(m[2]) < 2 ** 32 - 1;
}

/** A USER line that leaves the app as root counts as none: paas runs it as the app's uid instead. */
export function isRoot(user: string): boolean {
  return user === '' || /^(root|0)(:.*)?$/.test(user);
}
