// Where a release binary comes from: a file beside the operator (uploaded over the executor) or
// an object the host fetches itself with the OCI CLI (what first boot uses). Either way the
// deploy step checks it against RELEASE_SHA256 before it is used.
import { readLocalFile } from '../../lib/config/local-file.ts';
import { read, write } from '../../lib/core/cmd.ts';
import { RunbookError } from '../../lib/core/errors.ts';
import { sha256 } from '../../lib/exec/files.ts';
import type { Executor } from '../../lib/exec/types.ts';
import type { EventfoldConfig } from './config.ts';

/** A local release is read once: checked here, uploaded from the same bytes. */
export type ReleaseSource = { file: string; content: Buffer } | { bucket: string; object: string };

/** Where the release comes from: a file beside the operator, or an object fetched on the host. */
export function releaseSource(c: EventfoldConfig, host: string): ReleaseSource {
  const fromFile = Boolean(c.releaseFile);
  const fromObject = Boolean(c.releaseBucket || c.releaseObject);
  const hint = 'set RELEASE_VERSION and RELEASE_SHA256, and either RELEASE_FILE or RELEASE_BUCKET with RELEASE_OBJECT';
  if (!c.releaseVersion || !c.releaseSha256) throw new RunbookError('config', 'RELEASE_VERSION and RELEASE_SHA256 must both be set to deploy', { host, hint });
  if (fromFile === fromObject) throw new RunbookError('config', fromFile ? 'RELEASE_FILE and RELEASE_BUCKET/RELEASE_OBJECT are both set: one release source only' : 'no release source: RELEASE_FILE or RELEASE_BUCKET with RELEASE_OBJECT', { host, hint });
  if (fromFile) {
    const content = readLocalFile('RELEASE_FILE', c.releaseFile);
    const got = sha256(content);
    if (got !== c.releaseSha256) throw new RunbookError('precondition', `RELEASE_FILE ${c.releaseFile} has SHA-256 ${got}, not RELEASE_SHA256 ${c.releaseSha256}; refusing to deploy it`, { host, hint: 'check the build artifact and its checksum' });
    return { file: c.releaseFile, content };
  }
  if (!c.releaseBucket || !c.releaseObject) throw new RunbookError('config', 'RELEASE_BUCKET and RELEASE_OBJECT go together', { host, hint });
  return { bucket: c.releaseBucket, object: c.releaseObject };
}

/** Puts the release binary at `partial` on the host: uploaded over the executor, or fetched there with the OCI CLI. */
export async function putRelease(exec: Executor, c: EventfoldConfig, src: ReleaseSource, partial: string, log: (m: string) => void): Promise<void> {
  if ('file' in src) {
    log(`uploading ${c.releaseVersion} (${Math.round(src.content.length / 1024)} KiB)`);
    await exec.run(write(['install', '-D', '-m', '0755', '-o', 'root', '-g', 'root', '/dev/stdin', partial], { stdin: src.content, summary: `upload ${src.file} to ${partial.replace(/\.partial$/, '')}` }));
    return;
  }
  const oci = await exec.run(read(['sh', '-c', 'command -v oci'], { okCodes: [0, 1, 127] }));
  if (oci.exitCode !== 0 && !exec.dryRun) throw new RunbookError('precondition', 'the OCI CLI (oci) is not installed on the host, so the release cannot be fetched from Object Storage', { host: exec.host, hint: 'install the OCI CLI on the host, or deploy from a local file with RELEASE_FILE' });
  log(`fetching ${c.releaseVersion} from ${src.bucket}/${src.object}`);
  await exec.run(write(['install', '-d', '-m', '0755', '-o', 'root', '-g', 'root', partial.slice(0, partial.lastIndexOf('/'))]));
  await exec.run(write(['rm', '-f', partial]));
  const got = await exec.run(write(['oci', 'os', 'object', 'get', '--auth', c.ociAuth, '--bucket-name', src.bucket, '--name', src.object, '--file', partial], { okCodes: [0, 1, 2], timeoutMs: 15 * 60_000 }));
  if (got.exitCode !== 0) {
    await exec.run(write(['rm', '-f', partial]));
    const why = got.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 400);
    throw new RunbookError('stepFailed', `fetching ${src.bucket}/${src.object} failed: ${why || `oci exited ${got.exitCode}`}`, { host: exec.host, hint: `check the object and the host's OCI permissions (auth ${c.ociAuth}): oci os object head --bucket-name ${src.bucket} --name ${src.object}` });
  }
  await exec.run(write(['chmod', '0755', partial]));
}
