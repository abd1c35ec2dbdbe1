import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import type { Step } from '../../lib/engine/types.ts';
import { dockerSteps as sharedDockerSteps } from '../../lib/steps/docker.ts';
import { CONTAINERS, type CentralDbConfig, NETWORK } from './config.ts';

export { DAEMON_JSON, LOG_OPTS, mergeDaemonJson, waitContainer } from '../../lib/steps/docker.ts';

export function dockerSteps(): Step<CentralDbConfig>[] {
  return [
    ...sharedDockerSteps<CentralDbConfig>({ prefix: 'docker', containers: () => Object.values(CONTAINERS) }),
    {
      id: 'docker.network',
      title: `External network ${NETWORK}`,
      doc: `The seed's shared bridge: platform services and applications meet on it. Created once; an existing one is left as it is. Apps reach \`postgres-db:5432\`, \`pgbouncer:6432\` and \`redis:6379\` by name here; nothing is published on the host.`,
      async check({ exec }) {
        const r = await exec.run(read(['docker', 'network', 'inspect', '-f', '{{.Driver}}', NETWORK], { okCodes: [0, 1] }));
        if (r.exitCode !== 0) return { done: false, reason: 'no such network' };
        if (r.stdout.trim() !== 'bridge') throw new RunbookError('precondition', `network ${NETWORK} exists with driver ${r.stdout.trim()}, not bridge`, { host: exec.host, hint: `docker network inspect ${NETWORK}` });
        return { done: true, reason: 'bridge network exists' };
      },
      async apply({ exec }) {
        await exec.run(write(['docker', 'network', 'create', '--driver', 'bridge', NETWORK]));
      },
    },
  ];
}
