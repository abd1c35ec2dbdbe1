import { exampleEnv } from '../config/schema.ts';
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
    out.push('', '## First boot', '', `\`runbook user-data ${rb.name} --env FILE\` renders \`${rb.cloudInit.template}\` for the instance's user_data; \`--env-example\` prints the env file it takes.`);
    if (rb.cloudInitDoc) out.push('', rb.cloudInitDoc.trim());
  }
  out.push('', '## Steps', '');
  const steps = rb.steps(rb.config.build(exampleBuild(rb)));
  steps.forEach((s, i) => {
    out.push(`### ${i + 1}. ${s.title} (\`${s.id}\`)`, '');
    if (s.destructive) out.push(`**Destructive:** ${s.destructive}. Needs \`--yes\` or a confirmation at a terminal.`, '');
    if (s.doc) out.push(s.doc.trim(), '');
  });
  return out.join('\n');
}

function exampleBuild(rb: Runbook<any>) {
  const v: Record<string, string> = {};
  for (const [k, s] of Object.entries(rb.config.vars)) v[k] = s.example;
  return v;
}

export { exampleEnv };
