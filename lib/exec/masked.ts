import { createHmac, randomBytes } from 'node:crypto';

// One key per process: equal values get equal tags within a run (so a diff shows which values
// changed), and a tag can be matched to nothing outside it.
const KEY = randomBytes(32);
const tag = (v: string) => `<hidden ${createHmac('sha256', KEY).update(v).digest('hex').slice(0, 8)}>`;

/**
 * A file that can hold a secret, as a dry-run diff may show it: comments and blank lines as they
 * are, `KEY=VALUE` lines with the value replaced by a tag, every other line by a tag.
 */
export function maskSecretText(text: string): string {
  return text
    .split('\n')
    .map((l) => {
      if (/^\s*(#.*)?$/.test(l)) return l;
      const m = /^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=)(.*)$/.exec(l);
      return m ? `${m[1]}${m[2] ? tag(m[2]) : ''}` : tag(l);
    })
    .join('\n');
}

/** The variables an env-style file sets to a non-empty value. */
export function envKeysSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(l);
    if (m?.[1] && m[2]?.trim()) out.add(m[1]);
  }
  return out;
}
