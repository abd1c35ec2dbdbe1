// The .proto texts. From source they are read beside this module (./proto/); the bundles
// scripts/build.ts makes replace this module with the texts inlined. Any other bundle finds them
// in proto/ next to itself (import.meta.url is then the bundle's own URL) or, failing that, in
// proto/ next to the script that was run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function read(name: string): string {
  const tried: string[] = [];
  const candidates: (() => string | URL)[] = [
    () => new URL(`./proto/${name}`, import.meta.url),
    () => join(dirname(process.argv[1] ?? ''), 'proto', name),
  ];
  for (const where of candidates) {
    try {
      const p = where();
      tried.push(String(p));
      return readFileSync(p, 'utf8');
    } catch {
      // next candidate
    }
  }
  throw new Error(`cannot find ${name} (tried ${tried.join(', ')})`);
}

export const eventfoldProto = (): string => read('eventfold.proto');
export const healthProto = (): string => read('health.proto');
