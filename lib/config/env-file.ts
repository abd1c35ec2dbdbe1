import { readFileSync, statSync } from 'node:fs';
import dotenv from 'dotenv';
import { RunbookError } from '../core/errors.ts';

export interface EnvEntry {
  value: string;
  file: string;
  line: number;
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/**
 * Reads a dotenv file strictly: dotenv itself skips lines it cannot parse, which hides typos,
 * so every non-blank, non-comment line must be KEY=VALUE; dotenv then parses the values
 * (quotes, escapes) so files stay compatible with other dotenv tools.
 */
export function readEnvFile(file: string): Map<string, EnvEntry> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RunbookError('config', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`, {
      hint: `create it from the example: runbook show NAME --env-example > ${file}`,
    });
  }
  const out = new Map<string, EnvEntry>();
  const lines = text.split(/\r?\n/);
  let openQuote: { key: string; line: number; q: string } | null = null;
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (openQuote) {
      if (raw.includes(openQuote.q)) openQuote = null;
      return;
    }
    if (/^\s*(#.*)?$/.test(raw)) return;
    const m = LINE.exec(raw);
    if (!m || !m[1]) {
      // The line may hold a secret: name the variable when one can be told, never echo the value.
      const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)/.exec(raw)?.[1];
      throw new RunbookError('config', `${file}:${line}: not KEY=VALUE${name ? ` (variable ${name})` : ''}`, { hint: `fix line ${line} of ${file}` });
    }
    const key = m[1];
    const rest = (m[2] ?? '').trim();
    const q = rest[0] ?? '';
    const quoted = q === '"' || q === "'" || q === '`';
    if (quoted && rest.indexOf(q, 1) === -1) openQuote = { key, line, q };
    else if (!quoted && /\s/.test(rest.replace(/\s+#.*$/, ''))) {
      throw new RunbookError('config', `${file}:${line}: the value of ${key} has spaces and no quotes`, { hint: `quote it: ${key}="..."` });
    }
    if (out.has(key)) throw new RunbookError('config', `${file}:${line}: ${key} is set twice (first on line ${out.get(key)?.line})`, { hint: `keep one ${key} line in ${file}` });
    out.set(key, { value: '', file, line });
  });
  if (openQuote) {
    const o = openQuote as { key: string; line: number };
    throw new RunbookError('config', `${file}:${o.line}: the quoted value of ${o.key} never ends`, { hint: `close the quote on line ${o.line} of ${file}` });
  }
  const parsed = dotenv.parse(text);
  for (const [key, entry] of out) entry.value = parsed[key] ?? '';
  return out;
}

/** True when group or others can read the file: secrets must be mode 600 (or stricter). */
export function isExposed(file: string): boolean {
  return (statSync(file).mode & 0o077) !== 0;
}
