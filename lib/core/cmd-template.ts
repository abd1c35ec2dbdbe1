// Commands written as the seed document writes them, in the zx style, but as data: the tag
// returns argv (never a running process, never a shell string). The template's literal text is
// split on whitespace into words; each interpolated value is exactly one argument (an array is
// one argument per element), glued to the literal text it touches (`--name=${x}` is one word).
// The SSH executor later quotes every argument once for the remote POSIX shell (dash), so a value
// with spaces, quotes or `$(...)` stays one inert argument. There is no shell here, so shell
// syntax in the literal text (pipes, redirections, quotes, `$`) is refused rather than passed
// on as words that would mean something else. A Secret is refused: secrets travel in stdin only.
import { isSecret } from './secret.ts';

export type TemplateValue = string | number | readonly (string | number)[];

const SHELL_SYNTAX = /[|&;<>()$`"'\\*?[\]{}~#]/;

export function argvOf(strings: TemplateStringsArray, values: readonly unknown[]): string[] {
  const argv: string[] = [];
  let word: string | undefined; // the word being built, undefined between words
  const flush = () => {
    if (word !== undefined) argv.push(word);
    word = undefined;
  };
  strings.raw.forEach((raw, i) => {
    const text = strings[i] ?? raw;
    const bad = SHELL_SYNTAX.exec(text);
    if (bad) throw new Error(`command template: "${bad[0]}" in "${text.trim()}" is shell syntax, and no shell runs this command; pass the value as \${...} or use separate commands`);
    const parts = text.split(/\s+/);
    parts.forEach((p, j) => {
      if (j > 0) flush();
      if (p) word = (word ?? '') + p;
    });
    if (i >= values.length) return;
    const v = values[i];
    if (isSecret(v)) throw new Error('command template: a Secret cannot go into a command line (argv is visible in ps, logs and dry-run); pass it as stdin');
    if (Array.isArray(v)) {
      if (word !== undefined || !/^\s|^$/.test(strings[i + 1] ?? '')) throw new Error('command template: a list must stand alone as whole arguments');
      for (const x of v as unknown[]) argv.push(one(x));
      return;
    }
    word = (word ?? '') + one(v);
  });
  flush();
  return argv;
}

function one(v: unknown): string {
  if (isSecret(v)) throw new Error('command template: a Secret cannot go into a command line (argv is visible in ps, logs and dry-run); pass it as stdin');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new Error(`command template: ${typeof v} is not an argument (strings and numbers only)`);
}
