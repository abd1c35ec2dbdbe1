/**
 * POSIX sh quoting of one argument. The SSH executor is the only user: OpenSSH joins its
 * arguments with spaces and hands the string to the remote login shell, so every argv element
 * is quoted exactly once, here. Safe characters pass through for readable logs.
 */
export function shQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}
