import { Chalk } from 'chalk';
import { redact } from '../core/secret.ts';
import type { EngineEvent } from '../engine/types.ts';

export interface Out {
  write(s: string): void;
  isTTY?: boolean;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * The terminal view: "[n/N] id  title  changed (reason)  1.2s". The spinner runs only on a TTY;
 * with NO_COLOR or a pipe the output is plain text that reads the same in a log file.
 */
export function ttyRenderer(out: Out, opts: { quiet?: boolean } = {}): (e: EngineEvent) => void {
  const c = new Chalk({ level: out.isTTY && !process.env.NO_COLOR ? 1 : 0 });
  let spin: NodeJS.Timeout | undefined;
  let spinLine = '';
  const frames = ['-', '\\', '|', '/'];
  const stopSpin = () => {
    if (spin) {
      clearInterval(spin);
      spin = undefined;
      out.write('\r\x1b[2K');
    }
  };
  const line = (s: string) => {
    stopSpin();
    out.write(`${redact(s)}\n`);
  };
  return (e) => {
    const tag = 'index' in e ? c.dim(`[${e.index}/${e.total}]`) : '';
    switch (e.type) {
      case 'run-start':
        if (!opts.quiet) line(`${c.bold(e.runbook)} on ${e.host}${e.dryRun ? c.yellow(' (dry run: nothing will be changed)') : ''} - ${e.total} steps`);
        break;
      case 'step-start':
        if (out.isTTY && !opts.quiet) {
          let f = 0;
          spinLine = `${tag} ${e.id}  ${e.title}`;
          out.write(`${frames[0]} ${spinLine}`);
          spin = setInterval(() => out.write(`\r${frames[++f % 4]} ${spinLine}`), 120);
          spin.unref();
        }
        break;
      case 'step-skipped':
        if (!opts.quiet) line(`${tag} ${e.id}  ${c.dim(`skipped (${e.reason})`)}`);
        break;
      case 'step-unchanged':
        if (!opts.quiet) line(`${tag} ${e.id}  ${c.green('unchanged')} (${e.reason})  ${c.dim(secs(e.ms))}`);
        break;
      case 'step-changed':
        if (!opts.quiet) line(`${tag} ${e.id}  ${c.cyan('changed')} (${e.reason})  ${c.dim(secs(e.ms))}`);
        break;
      case 'step-planned':
        if (!opts.quiet) line(`${tag} ${e.id}  ${c.yellow('would change')} (${e.reason}; ${e.writes} write${e.writes === 1 ? '' : 's'})`);
        break;
      case 'write-planned':
        if (!opts.quiet) line(`      ${c.yellow('would run')} ${e.command}${e.detail ? `\n${e.detail.replace(/^/gm, '        ')}` : ''}`);
        break;
      case 'log':
        if (!opts.quiet) line(`      ${c.dim(e.message)}`);
        break;
      case 'step-failed':
        line(`${tag} ${e.id}  ${c.red('FAILED')}  ${c.dim(secs(e.ms))}`);
        break;
      case 'run-end':
        if (e.error) line(`${c.red(`error${e.error.host ? ` [host ${e.error.host}]` : ''}:`)} ${e.error.message}${e.error.hint ? `\n  next: ${e.error.hint}` : ''}`);
        if (!opts.quiet || !e.ok) line(`${e.ok ? c.green('ok') : c.red('failed')}: ${e.changed} changed, ${e.unchanged} unchanged${e.planned ? `, ${e.planned} would change` : ''}${e.failed ? `, ${e.failed} failed` : ''} in ${secs(e.ms)}`);
        break;
    }
  };
}

/** One JSON object per line, for machines. */
export const jsonRenderer = (out: Out) => (e: EngineEvent) => out.write(`${redact(JSON.stringify(e))}\n`);

/** Keeps every event, for tests. */
export function recorder(): { events: EngineEvent[]; emit: (e: EngineEvent) => void } {
  const events: EngineEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}
