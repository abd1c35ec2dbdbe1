// `gratonite.smoke`: the seed's six checks from outside the host, one line each; any failure
// fails the step (exit 1) naming the checks that failed.
import { RunbookError } from '../../lib/core/errors.ts';
import type { Step } from '../../lib/engine/types.ts';
import type { GratoniteConfig } from './config.ts';
import { type CheckLine, runSmoke } from './smoke/checks.ts';
import { smokeTarget } from './target.ts';

export const smokeLine = (l: CheckLine) => `${l.ok ? 'ok  ' : 'FAIL'} ${l.name}: ${l.detail}${l.ms ? ` (${l.ms} ms)` : ''}`;

export function smokeStep(id = 'gratonite.smoke'): Step<GratoniteConfig> {
  return {
    id,
    title: 'Smoke checklist: health, register/login, realtime, attachment, public file, TURN and voice',
    doc: [
      'From this machine, against the public names (as the seed\'s "non-local network" asks):',
      '1. `GET https://api.<DOMAIN>/health` answers 200 `status: ok`;',
      '2. `https://app.<DOMAIN>/` serves the web app, and two throwaway users register and log in with the app\'s Origin (CORS answered for it), removed afterwards;',
      '3. both connect Socket.IO over websocket and each sees the other\'s DM in real time;',
      '4. an attachment uploaded by one reaches the other with its URL;',
      '5. that `/api/v1/files/<hash>.<ext>` URL on `cdn.` renders the same bytes without auth, and the private upload id answers 401;',
      '6. a TURN Allocate with the TURN credential succeeds over UDP and TCP on 3478, and LiveKit\'s port answers when enabled.',
      'Each check prints one line; the step fails naming every check that failed.',
    ].join('\n'),
    async check({ exec, config, log }) {
      if (exec.dryRun) return { done: false, reason: 'the checks run for real only outside a dry run' };
      const lines = await runSmoke(smokeTarget(config), (l) => log(smokeLine(l)));
      const failed = lines.filter((l) => !l.ok);
      if (failed.length) throw new RunbookError('stepFailed', `smoke failed: ${failed.map((l) => `${l.name} (${l.detail})`).join('; ')}`, { host: exec.host, hint: 'fix what the failed check names, then: runbook run gratonite.smoke' });
      return { done: true, reason: `all ${lines.length} checks passed` };
    },
    async apply() {},
  };
}
