// The test container images: each is the shared trixie base layer plus one small layer from
// layers/<name>/, tagged with the upstream names the runbooks' compose files use, so the files
// keep their real defaults. README.md lists which upstream behaviours each one covers.
import type { RunSettings } from './archive.ts';

export interface ImageSpec {
  /** Short name, also the folder under layers/. */
  name: string;
  /** Upstream tags this image answers to (the first is its ref). */
  tags: string[];
  run: RunSettings;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const IMAGES: ImageSpec[] = [
  {
    name: 'postgres',
    // postgres:16 is the same PostgreSQL 17 image (Debian 13 has no 16): same entrypoint contract.
    tags: ['pgvector/pgvector:pg17', 'postgres:16'],
    run: {
      env: [`PATH=/usr/lib/postgresql/17/bin:${PATH.slice(5)}`, 'PG_MAJOR=17', 'PGDATA=/var/lib/postgresql/data', 'LANG=C.UTF-8'],
      entrypoint: ['docker-entrypoint.sh'],
      cmd: ['postgres'],
      exposedPorts: ['5432/tcp'],
      volumes: ['/var/lib/postgresql/data'],
      stopSignal: 'SIGINT',
    },
  },
  {
    name: 'pgbouncer',
    tags: ['perconalab/percona-pgbouncer:1.24.1'],
    run: {
      env: [PATH, 'LANG=C.UTF-8'],
      entrypoint: ['pgbouncer-entrypoint.sh'],
      cmd: ['pgbouncer', '/etc/pgbouncer/pgbouncer.ini'],
      exposedPorts: ['6432/tcp'],
    },
  },
  {
    name: 'redis',
    tags: ['redis:7'],
    run: {
      env: [PATH],
      entrypoint: ['docker-entrypoint.sh'],
      cmd: ['redis-server'],
      exposedPorts: ['6379/tcp'],
      volumes: ['/data'],
      workingDir: '/data',
    },
  },
  {
    name: 'redis-stack',
    tags: ['redis/redis-stack:7.2.0-v7'],
    run: {
      env: [PATH],
      entrypoint: ['/entrypoint.sh'],
      exposedPorts: ['6379/tcp', '8001/tcp'],
      volumes: ['/data'],
    },
  },
];
