// Stand-in for the MinIO client, `mc`, for the three commands Gratonite's compose file runs:
//   mc ready ALIAS                    exit 0 once the server's /minio/health/ready answers 200
//   mc mb [--ignore-existing] ALIAS/BUCKET
//   mc stat ALIAS/BUCKET
// It is not mc. Like mc, an alias comes from MC_HOST_<ALIAS>=http://USER:PASSWORD@HOST:PORT (the
// credentials never on the command line); `local` without it is http://127.0.0.1:9000 with no
// credentials, which `ready` needs and bucket calls are refused with. Exit 1 on any error.
const die = (m: string): never => {
  process.stderr.write(`mc: <ERROR> ${m}\n`);
  process.exit(1);
};

function alias(name: string): { base: string; credentials?: string } {
  const raw = process.env[`MC_HOST_${name}`] ?? (name === 'local' ? 'http://127.0.0.1:9000' : die(`Unable to find alias ${name}.`));
  const u = new URL(raw);
  const credentials = u.username ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : undefined;
  return { base: `${u.protocol}//${u.host}`, credentials };
}

async function call(method: string, target: string): Promise<number> {
  const [name = '', bucket = ''] = target.split('/');
  const a = alias(name);
  if (!bucket) die(`${target}: a bucket name is needed`);
  const r = await fetch(`${a.base}/${bucket}`, { method, headers: a.credentials ? { 'x-standin-credentials': a.credentials } : {}, signal: AbortSignal.timeout(10_000) }).catch((e: Error) => die(`${a.base}: ${e.message}`));
  if (r.status === 403) die('The Access Key Id you provided does not exist in our records.');
  return r.status;
}

const [cmd, ...rest] = process.argv.slice(2);
const args = rest.filter((x) => !x.startsWith('--'));
if (cmd === 'ready') {
  const a = alias(args[0] ?? die('mc ready ALIAS'));
  const r = await fetch(`${a.base}/minio/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  process.exit(r?.status === 200 ? 0 : 1);
} else if (cmd === 'mb') {
  const status = await call('PUT', args[0] ?? die('mc mb ALIAS/BUCKET'));
  if (status === 409 && rest.includes('--ignore-existing')) process.stdout.write(`Bucket created successfully \`${args[0]}\`.\n`);
  else if (status === 409) die(`Unable to make bucket \`${args[0]}\`. Your previous request to create the named bucket succeeded and you already own it.`);
  else if (status !== 200) die(`Unable to make bucket \`${args[0]}\`: HTTP ${status}`);
  else process.stdout.write(`Bucket created successfully \`${args[0]}\`.\n`);
} else if (cmd === 'stat') {
  const status = await call('HEAD', args[0] ?? die('mc stat ALIAS/BUCKET'));
  if (status !== 200) die(`Unable to stat \`${args[0]}\`: ${status === 404 ? 'Bucket does not exist.' : `HTTP ${status}`}`);
  process.stdout.write(`Name      : ${args[0]?.split('/')[1]}/\n`);
} else {
  die(`${cmd ?? '(none)'}: only ready, mb and stat are in this stand-in`);
}
