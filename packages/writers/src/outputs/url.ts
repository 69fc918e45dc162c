/** A connection URL as it may be logged: the password replaced, so no log line or error carries a credential. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    // Not a URL: it still may hold `user:password@`, so cut everything before the `@`.
    const at = text.lastIndexOf('@');
    return at < 0 ? text : `***@${text.slice(at + 1)}`;
  }
}
