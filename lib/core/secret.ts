import { inspect } from 'node:util';

const REDACTED = '[redacted]';
const registry = new Set<string>();

/**
 * A value that must never reach argv, a log line or an error message.
 * Printing it in any way (String(), JSON, util.inspect) yields a redaction marker;
 * only `reveal()` gives the value, and the executors call it solely to feed stdin.
 */
export class Secret {
  readonly #value: string;
  readonly name: string;

  constructor(name: string, value: string) {
    this.name = name;
    this.#value = value;
    // Values this short would redact ordinary words from every log line.
    if (value.length >= 4) registry.add(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return `${REDACTED}:${this.name}`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function isSecret(v: unknown): v is Secret {
  return v instanceof Secret;
}

/** Replaces every known secret value in a text; used by every printer, logger and error. */
export function redact(text: string): string {
  let out = text;
  for (const value of registry) {
    if (out.includes(value)) out = out.split(value).join(REDACTED);
  }
  return out;
}

export const REDACTION_MARK = REDACTED;
