/** A message from a runtime with the add-on's password, should it hold it, masked. */
export function scrub(message: string, password: string): string {
  return password ? message.replaceAll(password, '********') : message;
}
