import { readFileSync } from 'node:fs';
import { RunbookError } from '../core/errors.ts';

/** Reads a file a variable names on the machine running the runbook; a config error names both. */
export function readLocalFile(varName: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new RunbookError('config', `cannot read ${varName} ${path}: ${(e as Error).message}`, { hint: `${varName} is a path on the machine running the runbook` });
  }
}
