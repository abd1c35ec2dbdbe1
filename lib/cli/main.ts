import { parseArgs } from 'node:util';
import { EXIT, RunbookError, asRunbookError } from '../core/errors.ts';
import { redact } from '../core/secret.ts';
import { RUNBOOKS, SYSTEMS, findRunbook, findSystem } from './registry.ts';

const VERSION = '0.1.0';

const HELP = `runbook - executable runbooks for self-hosted services on Oracle Cloud ARM64 hosts

usage:
  runbook list                         the runbooks, one a line
  runbook show RUNBOOK [--env-example] the runbook as a Markdown document (or its example env file)
  runbook run RUNBOOK [options]        converge a host, step by step
  runbook run SYSTEM --target ROLE=TARGET,...
                                       a system on several hosts: each role's runbooks in order
  runbook user-data RUNBOOK --env FILE the runbook's first-boot cloud-init user-data, rendered
                                       (--env-example: the env file it takes)
  runbook unlock --target TARGET       break a stale run lock on a host
  runbook vm list | stop NAME          the throwaway VMs that --target vm booted

run options:
  --target TARGET     where to run (required):
                        vm, vm:NAME    a throwaway ARM64 VM on this machine, booted (or reused)
                                       from the project's cached image; kept until \`runbook vm stop\`
                        ssh://user@host[:port]   a host over SSH
                        local          this machine itself (cloud-init, an operator on the host)
                        ROLE=TARGET,...  for a system: one target for each of its roles
  --env FILE          dotenv file with the runbook's variables (repeatable; later files win)
  --ssh-config FILE   OpenSSH client config to use (keys, known_hosts)
  --dry-run           show the plan: reads run on the host, writes are printed, never run
  --yes               unattended: allow destructive steps without asking
  --only STEP[,STEP]  run only these steps
  --from STEP         start at this step (resume after a failure); for a system: ROLE[/RUNBOOK]
  --json              one JSON event per line instead of the terminal view
  --quiet             print nothing unless something fails (for timers and cron)

exit codes: 0 ok, 1 step failed, 2 usage, 3 config, 4 precondition refused,
            5 target unreachable, 6 host locked by another run, 130 interrupted
`;

async function main(argv: string[]): Promise<number> {
  const { values: o, positionals: pos } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      target: { type: 'string' },
      env: { type: 'string', multiple: true },
      'ssh-config': { type: 'string' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      only: { type: 'string', multiple: true },
      from: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      'env-example': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  const [cmd, name] = pos;
  if (o.version) return print(`${VERSION}\n`);
  if (o.help || !cmd || cmd === 'help') return print(HELP);
  if (cmd === 'list') return print([...RUNBOOKS, ...SYSTEMS.map((s) => ({ ...s, title: `(system) ${s.title}` }))].map((r) => `${r.name.padEnd(28)} ${r.title}\n`).join(''));
  if (cmd === 'unlock') {
    const { unlock } = await import('./run.ts');
    return unlock(needTarget(o.target, 'unlock'), o['ssh-config']);
  }
  if (cmd === 'vm') {
    const { listThrowaways, stopThrowaway } = await import('../vm/throwaway.ts');
    if (name === 'list' || !name) return print(listThrowaways());
    if (name === 'stop' && pos[2]) return print(await stopThrowaway(pos[2]));
    throw new RunbookError('usage', 'vm takes "list" or "stop NAME"', { hint: 'runbook vm list' });
  }
  if (cmd !== 'show' && cmd !== 'run' && cmd !== 'user-data') throw new RunbookError('usage', `unknown command "${cmd}"`, { hint: 'runbook --help' });
  if (!name) throw new RunbookError('usage', `${cmd} needs a runbook name`, { hint: 'runbook list' });
  const system = cmd !== 'user-data' ? findSystem(name) : undefined;
  if (system) return runOrShowSystem(cmd, await system.load(), o);
  const entry = findRunbook(name);
  if (!entry) throw new RunbookError('usage', `unknown runbook "${name}"`, { hint: 'runbook list' });
  if (pos.length > 2) throw new RunbookError('usage', `unexpected argument "${pos[2]}"`, { hint: 'runbook --help' });
  const rb = await entry.load();
  if (cmd === 'show') {
    const { renderMarkdown, exampleEnv } = await import('./show.ts');
    return print(o['env-example'] ? exampleEnv(rb.config) : `${renderMarkdown(rb)}\n`);
  }
  if (cmd === 'user-data') {
    if (!rb.cloudInit) throw new RunbookError('usage', `${name} has no cloud-init user-data`, { hint: 'runbook list' });
    const [{ loadConfig, exampleEnv }, { renderUserData }] = await Promise.all([import('../config/schema.ts'), import('../core/assets.ts')]);
    const schema = rb.cloudInit.config ?? rb.config;
    if (o['env-example']) return print(exampleEnv(schema));
    if (!o.env?.length) throw new RunbookError('usage', `user-data ${name} needs --env FILE`, { hint: `runbook user-data ${name} --env-example > ${name}-boot.env` });
    const config = loadConfig(schema, o.env);
    return print(rb.cloudInit.render ? rb.cloudInit.render(config) : renderUserData(rb.cloudInit.template, rb.cloudInit.vars(config)));
  }
  // A runbook that acts only through the OCI API from this machine has no host to pick.
  const target = rb.apiOnly ? (o.target ?? 'local') : needTarget(o.target, `run ${name}`);
  const [{ runCommand }, { systemKnown }] = await Promise.all([import('./run.ts'), import('./system-cli.ts')]);
  return runCommand(rb, { target, ...runOptions(o), known: await systemKnown(name) });
}

type Flags = Record<string, string | string[] | boolean | undefined>;

/** The run options both a runbook's and a system's run take from the command line. */
function runOptions(o: Flags) {
  return {
    envFiles: (o.env as string[] | undefined) ?? [],
    sshConfig: o['ssh-config'] as string | undefined,
    dryRun: Boolean(o['dry-run']),
    yes: Boolean(o.yes),
    only: ((o.only as string[] | undefined) ?? []).flatMap((s) => s.split(',')).filter(Boolean),
    from: o.from as string | undefined,
    json: Boolean(o.json),
    quiet: Boolean(o.quiet),
  };
}

async function runOrShowSystem(cmd: string, sys: import('../engine/system.ts').System, o: Flags): Promise<number> {
  const { describeSystem, exampleSystemEnv, runSystem } = await import('./system-cli.ts');
  if (cmd === 'show') return print(o['env-example'] ? await exampleSystemEnv(sys) : await describeSystem(sys));
  const target = needTarget(o.target as string | undefined, `run ${sys.name}`, sys.roles.map((r) => `${r.role}=ssh://user@${r.role}-host`).join(','));
  return runSystem(sys, { target, ...runOptions(o) });
}

// No default target: a run without one would converge the machine it was typed on.
function needTarget(target: string | undefined, what: string, roles?: string): string {
  if (target) return target;
  if (roles) throw new RunbookError('usage', `${what} needs --target with a host for each role: --target ${roles}`, { hint: `runbook show ${what.split(' ')[1]}` });
  throw new RunbookError('usage', `${what} needs --target: where should it run?
  --target vm                       a throwaway ARM64 VM on this machine (nothing at risk)
  --target vm:NAME                  the same, named (several can run side by side)
  --target ssh://user@host[:port]   a host over SSH
  --target local                    this machine itself (first boot, or an operator on the host)`, { hint: `runbook ${what} --target vm` });
}

function print(s: string): number {
  process.stdout.write(s);
  return EXIT.ok;
}

// The only place that exits the process.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? new RunbookError('usage', (err as Error).message, { hint: 'runbook --help' })
      : asRunbookError(err);
    process.stderr.write(`${redact(e.describe())}\n`);
    process.exitCode = e.exitCode;
  },
);
