// The test container images: each is the shared trixie base layer plus one small layer from
// layers/<name>/, tagged with the upstream names the runbooks' compose files use, so the files
// keep their real defaults. README.md lists which upstream behaviours each one covers.
import type { RunSettings } from './archive.ts';

export interface ImageSpec {
  /** Short name, also the folder under layers/ (unless `layer` names another). */
  name: string;
  /** The folder under layers/ when it is not `name` (two images with the same files). */
  layer?: string;
  /** Files of this repository added to the layer (built bundles): path in the image, path here. */
  files?: { path: string; from: string; mode?: number }[];
  /**
   * An application stand-in: not in the docker-host snapshot, loaded by the test that needs it
   * (only its small layer travels, the base layer is already in the snapshot), so changing a
   * stand-in does not rebuild the snapshot.
   */
  app?: boolean;
  /**
   * The architecture the image config claims (arm64 when unset). The layers stay arm64: another
   * value makes an image that `docker image inspect` reports as another platform, for a runbook's
   * platform check to refuse.
   */
  architecture?: string;
  /** Upstream tags this image answers to (the first is its ref). */
  tags: string[];
  run: RunSettings;
}

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const B = 'dist/standins/images';
const gratoniteApi = (broken: boolean): ImageSpec => ({
  name: broken ? 'gratonite-api-broken' : 'gratonite-api',
  layer: 'gratonite-api',
  app: true,
  // The API stand-in (test/standins/gratonite/api.ts) where the real image keeps its build, with
  // the migration command the runbook's default MIGRATE_COMMAND runs: `node dist/db/migrate.js`.
  // The broken release is the same files with STANDIN_HEALTH=degraded: /health answers 503.
  tags: [broken ? 'gratonite-standin/api:broken' : 'gratonite-standin/api:good'],
  files: [
    { path: 'app/dist/index.js', from: `${B}/gratonite-api.mjs` },
    { path: 'app/dist/db/migrate.js', from: `${B}/gratonite-migrate.mjs` },
  ],
  run: {
    env: [PATH, 'NODE_ENV=production', 'HOST=0.0.0.0', ...(broken ? ['STANDIN_HEALTH=degraded'] : [])],
    cmd: ['node', 'dist/index.js'],
    workingDir: '/app',
    exposedPorts: ['4000/tcp'],
  },
});

// FamilyCart's backend (test/standins/familycart/backend.ts) on 8000; the broken release is the
// same files with STANDIN_HEALTH=unhealthy: /health answers 503 "unhealthy".
const familycartBackend = (broken: boolean): ImageSpec => ({
  name: broken ? 'familycart-backend-broken' : 'familycart-backend',
  layer: 'familycart-backend',
  app: true,
  tags: [broken ? 'familycart-standin/backend:broken' : 'familycart-standin/backend:good'],
  files: [{ path: 'app/server.js', from: `${B}/familycart-backend.mjs` }],
  run: {
    env: [PATH, 'PORT=8000', 'HOST=0.0.0.0', ...(broken ? ['STANDIN_HEALTH=unhealthy'] : [])],
    cmd: ['node', 'server.js'],
    workingDir: '/app',
    exposedPorts: ['8000/tcp'],
  },
});
// FamilyCart's frontend (test/standins/familycart/frontend.ts) on 3000. The amd64 one is the same
// files with a config that says amd64, as the upstream images are: the runbook must refuse it.
const familycartFrontend = (amd64: boolean): ImageSpec => ({
  name: amd64 ? 'familycart-frontend-amd64' : 'familycart-frontend',
  layer: 'familycart-frontend',
  app: true,
  ...(amd64 ? { architecture: 'amd64' } : {}),
  tags: [amd64 ? 'familycart-standin/frontend:amd64' : 'familycart-standin/frontend:good'],
  files: [{ path: 'app/server.js', from: `${B}/familycart-frontend.mjs` }],
  run: { env: [PATH, 'NODE_ENV=production', 'PORT=3000', 'HOST=0.0.0.0'], cmd: ['node', 'server.js'], workingDir: '/app', exposedPorts: ['3000/tcp'] },
});

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
  gratoniteApi(false),
  gratoniteApi(true),
  {
    name: 'gratonite-web',
    app: true,
    tags: ['gratonite-standin/web:good'],
    files: [{ path: 'app/server.js', from: `${B}/gratonite-web.mjs` }],
    run: { env: [PATH, 'PORT=80', 'HOST=0.0.0.0'], cmd: ['node', 'server.js'], workingDir: '/app', exposedPorts: ['80/tcp'] },
  },
  {
    // MinIO's server and client as far as Gratonite's compose file uses them (test/standins/minio).
    name: 'minio',
    app: true,
    tags: ['minio/minio:RELEASE.2025-04-22T22-12-26Z', 'minio/mc:RELEASE.2025-04-16T18-13-26Z'],
    files: [
      { path: 'usr/lib/minio-standin/minio.mjs', from: `${B}/minio.mjs` },
      { path: 'usr/lib/minio-standin/mc.mjs', from: `${B}/mc.mjs` },
    ],
    run: { env: [PATH], entrypoint: ['minio'], cmd: ['server', '/data'], exposedPorts: ['9000/tcp'], volumes: ['/data'] },
  },
  familycartBackend(false),
  familycartBackend(true),
  familycartFrontend(false),
  familycartFrontend(true),
];
