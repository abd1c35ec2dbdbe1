import { exampleEnv } from '../config/schema.ts';
import { RunbookError } from '../core/errors.ts';
import type { Runbook } from '../engine/types.ts';

/** Renders a runbook as a Markdown document: the runbook is its own documentation. */
export function renderMarkdown(rb: Runbook<any>): string {
  const out: string[] = [`# ${rb.title}`, '', rb.summary, ''];
  if (rb.seed) out.push(`Mirrors the seed document \`${rb.seed}\`.`, '');
  if (rb.deviations?.length) {
    out.push('## Where this runbook departs from the seed', '');
    for (const d of rb.deviations) out.push(`- ${d}`);
    out.push('');
  }
  out.push('## Configuration', '', '| variable | meaning | example |', '|---|---|---|');
  for (const [k, v] of Object.entries(rb.config.vars)) {
    out.push(`| \`${k}\`${v.optional ? ' (optional)' : ''}${v.secret ? ' (secret)' : ''} | ${v.description}${v.default ? ` (default \`${v.default}\`)` : ''} | ${v.secret ? '-' : `\`${v.example}\``} |`);
  }
  if (rb.cloudInit) {
    out.push('', '## First boot', '', `\`runbook user-data ${rb.name} --env FILE\` renders ${rb.cloudInit.render ? `user-data built on \`${rb.cloudInit.template}\`` : `\`${rb.cloudInit.template}\``} for the instance's user_data; \`--env-example\` prints the env file it takes.`);
    if (rb.cloudInitDoc) out.push('', rb.cloudInitDoc.trim());
  }
  out.push('', '## Steps', '');
  const steps = rb.steps(exampleConfig(rb));
  steps.forEach((s, i) => {
    out.push(`### ${i + 1}. ${s.title} (\`${s.id}\`)`, '');
    if (s.destructive) out.push(`**Destructive:** ${s.destructive}. Needs \`--yes\` or a confirmation at a terminal.`, '');
    if (s.doc) out.push(s.doc.trim(), '');
  });
  return out.join('\n');
}

function exampleBuild(rb: Runbook<any>, optional: boolean) {
  const v: Record<string, string> = {};
  for (const [k, s] of Object.entries(rb.config.vars)) if (optional || !s.optional) v[k] = s.example;
  return v;
}

/**
 * The configuration the steps are described with: every example set; when an optional example
 * cannot be used here (e.g. it names a file this machine lacks), the optional ones left unset, as
 * `--env-example` leaves them.
 */
function exampleConfig(rb: Runbook<any>) {
  try {
    return rb.config.build(exampleBuild(rb, true));
  } catch (e) {
    if (!(e instanceof RunbookError) || e.kind !== 'config') throw e;
    return rb.config.build(exampleBuild(rb, false));
  }
}

export { exampleEnv };
