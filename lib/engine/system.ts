import type { VarSpec } from '../config/schema.ts';
import type { Executor } from '../exec/types.ts';

/**
 * A system that spans hosts: each role (e.g. `stateful`, `app`) is one host, and its runbooks run
 * there in order, role after role. Before anything runs, each role's host is asked (read-only,
 * dry-run too) for the facts the others need (a private address), and `wire` turns them into the
 * variables each role's runbooks take, so a value one host learns reaches the other's config.
 */
export interface System {
  name: string;
  title: string;
  seed?: string;
  summary: string;
  roles: SystemRole[];
  /** Variables of the system itself (read by `facts`), beside those of its runbooks. */
  vars: Record<string, VarSpec>;
  /** Read-only questions to one role's host; `env` holds the env files' values. */
  facts(role: string, exec: Executor, env: Record<string, string>): Promise<Record<string, string>>;
  /** Each role's learned variables, from every role's facts. */
  wire(facts: Record<string, Record<string, string>>): Record<string, Record<string, string>>;
}

export interface SystemRole {
  role: string;
  doc: string;
  runbooks: string[];
}

/** A host's one IPv4 address inside `cidr`, from `ip -o -4 addr show to CIDR` output. */
export function addressIn(ipOutput: string): string[] {
  return [...ipOutput.matchAll(/\sinet\s+(\d{1,3}(?:\.\d{1,3}){3})\//g)].map((m) => m[1] as string);
}
