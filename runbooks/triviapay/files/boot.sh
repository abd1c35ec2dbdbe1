#!/bin/bash
# First boot of a TriviaPay pool instance, run once by cloud-init (runcmd) with no terminal.
#   1. Docker, logrotate and curl (and apparmor, which dockerd needs when the kernel has AppArmor
#      on) from the distribution's packages when the image lacks them.
#   2. The image tag from this instance's own metadata (triviapay_image_tag, set per instance
#      configuration: that is how a rollout changes it).
#   3. The app env, the OCIR username and the OCIR token from Vault with the instance's identity,
#      retried until BOOT_DEADLINE_SECONDS (instance-principal permissions can take minutes).
#   4. /etc/triviapay.env (mode 600) from the app env, with APP_LOG_PATH and PORT added only when
#      missing; a PORT other than the load balancer's backend port is refused.
#   5. The container user 10001 on the host, its log folder, logrotate for APP_LOG_PATH.
#   6. docker login (token on stdin only), pull, logout: no registry credential stays on disk.
#   7. triviapay.service enabled and started; its start ends only when /health answers healthy,
#      then /run/triviapay/ready names the image serving.
# Running it again (as root) after fixing a failure redoes every step; nothing is appended twice.
# Paths can be moved with TRIVIAPAY_{BOOT_CONF,ENV_FILE,ETC,LOGROTATE,RUN} (the tests do).
set -euo pipefail
umask 077

conf=${TRIVIAPAY_BOOT_CONF:-/etc/triviapay/boot.env}
env_file=${TRIVIAPAY_ENV_FILE:-/etc/triviapay.env}
etc=${TRIVIAPAY_ETC:-/etc/triviapay}
logrotate_conf=${TRIVIAPAY_LOGROTATE:-/etc/logrotate.d/triviapay}
run=${TRIVIAPAY_RUN:-/run/triviapay}
app_uid=10001
log() { printf 'triviapay-boot: %s\n' "$*" >&2; }
die() {
  log "$1 (on $(hostname))"
  log "next: $2"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root" "sudo $0"
[ -r "$conf" ] || die "$conf is missing" "render the user-data with: runbook user-data triviapay.rollout --env FILE"
# shellcheck source=/dev/null
. "$conf"
for k in OCIR_REPO_URL APP_ENV_SECRET_ID OCIR_USERNAME_SECRET_ID OCIR_AUTH_TOKEN_SECRET_ID BACKEND_PORT INSTANCE_METADATA_URL; do
  [ -n "${!k:-}" ] || die "$k is empty in $conf" "render the user-data again with $k set: runbook user-data triviapay.rollout --env FILE"
done
auth=${OCI_CLI_AUTH:-instance_principal}
deadline=$((SECONDS + ${BOOT_DEADLINE_SECONDS:-1200}))
registry=${OCIR_REPO_URL%%/*}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/triviapay-boot.XXXXXX")
cleanup() {
  docker logout "$registry" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# retry WHAT CMD...: runs CMD (stderr to $tmp/err) until it succeeds or the deadline passes,
# backing off from 5 s up to a minute.
retry() {
  local what=$1 delay=5
  shift
  until "$@" 2>"$tmp/err"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 3 "$tmp/err" >&2 || true
      return 1
    fi
    log "$what failed ($(tail -n 1 "$tmp/err" | cut -c1-160)); retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

# 1. Packages (Debian's docker.io; the unit runs /usr/bin/docker). With AppArmor on in the kernel,
#    dockerd refuses every `docker run` unless apparmor_parser can load its docker-default profile,
#    and docker.io only recommends apparmor: so it comes too when the image lacks it.
packages=()
for p in docker:docker.io logrotate:logrotate curl:curl; do
  command -v "${p%%:*}" >/dev/null || packages+=("${p#*:}")
done
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && ! command -v apparmor_parser >/dev/null; then
  packages+=(apparmor)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  log "installing ${packages[*]}"
  apt_install() {
    timeout 900 apt-get update -q >/dev/null || true
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
  }
  retry "apt-get install" apt_install || die "${packages[*]} could not be installed" "check the host's package mirror, then run: sudo $0"
fi
command -v oci >/dev/null || die "the OCI CLI (oci) is not installed" "use an image that ships the OCI CLI, then run: sudo $0"
systemctl enable --now docker.service >/dev/null 2>&1 || die "docker.service does not start" "journalctl -u docker.service, then run: sudo $0"
docker_up() { timeout 30 docker info >/dev/null; }
retry "docker info" docker_up || die "dockerd does not answer" "journalctl -u docker.service, then run: sudo $0"

# 2. The image tag of this instance's configuration.
tag_of() { curl -fsS --max-time 10 -H 'Authorization: Bearer Oracle' "$INSTANCE_METADATA_URL/triviapay_image_tag" >"$tmp/tag"; }
retry "reading triviapay_image_tag from the instance metadata" tag_of \
  || die "the instance metadata has no triviapay_image_tag ($INSTANCE_METADATA_URL)" "check the instance configuration's metadata; a rollout sets it (runbook run triviapay.rollout)"
tag=$(tr -d '\r\n' <"$tmp/tag")
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "triviapay_image_tag \"${tag:0:80}\" is not a Docker tag" "fix IMAGE_TAG and run the rollout again"
image="$OCIR_REPO_URL:$tag"

# 3. Secrets: each decoded into $tmp (mode 700), never printed, never in argv.
secret() {
  timeout 120 oci secrets secret-bundle get --auth "$auth" --secret-id "$1" --stage CURRENT \
    --query 'data."secret-bundle-content".content' --raw-output >"$tmp/$2.b64" && base64 -d "$tmp/$2.b64" >"$tmp/$2"
}
retry "fetching the app env from Vault" secret "$APP_ENV_SECRET_ID" app.env \
  || die "cannot read secret $APP_ENV_SECRET_ID (auth $auth)" "check the dynamic group and its policy (read secret-bundles), then run: sudo $0"
retry "fetching the OCIR username from Vault" secret "$OCIR_USERNAME_SECRET_ID" ocir.user \
  || die "cannot read secret $OCIR_USERNAME_SECRET_ID (auth $auth)" "check the dynamic group and its policy (read secret-bundles), then run: sudo $0"
retry "fetching the OCIR token from Vault" secret "$OCIR_AUTH_TOKEN_SECRET_ID" ocir.token \
  || die "cannot read secret $OCIR_AUTH_TOKEN_SECRET_ID (auth $auth)" "check the dynamic group and its policy (read secret-bundles), then run: sudo $0"
grep -q '^CHANGEME$' "$tmp/app.env" && die "the app env secret still holds Terraform's placeholder CHANGEME" "runbook run triviapay.secrets --env FILE, then run: sudo $0"

# 4. The env file: CRs dropped, a last line ended, APP_LOG_PATH and PORT added only when missing.
tr -d '\r' <"$tmp/app.env" >"$tmp/triviapay.env"
[ -z "$(tail -c 1 "$tmp/triviapay.env")" ] || echo >>"$tmp/triviapay.env"
value_of() { sed -n "s/^$1=//p" "$tmp/triviapay.env" | tail -n 1; }
grep -q '^APP_LOG_PATH=' "$tmp/triviapay.env" || echo 'APP_LOG_PATH=/var/log/triviapay/app.log' >>"$tmp/triviapay.env"
grep -q '^PORT=' "$tmp/triviapay.env" || echo "PORT=$BACKEND_PORT" >>"$tmp/triviapay.env"
port=$(value_of PORT)
[ "$port" = "$BACKEND_PORT" ] || die "the app env sets PORT=${port:0:20} but the load balancer checks port $BACKEND_PORT" "remove PORT from .env.production (or set it to $BACKEND_PORT), runbook run triviapay.secrets, then run: sudo $0"
log_path=$(value_of APP_LOG_PATH)
if [ -n "$log_path" ]; then
  [[ $log_path =~ ^/[A-Za-z0-9._/-]+[A-Za-z0-9._-]$ && $log_path != *..* ]] || die "APP_LOG_PATH \"${log_path:0:80}\" is not a plain absolute file path" "fix APP_LOG_PATH in .env.production, runbook run triviapay.secrets, then run: sudo $0"
  log_dir=$(dirname "$log_path")
else
  log_dir=/var/log/triviapay
fi
install -d -m 0755 "$etc" "$(dirname "$env_file")"
install -m 0600 -o root -g root "$tmp/triviapay.env" "$env_file.new"
mv -f "$env_file.new" "$env_file"

# 5. The container's user on the host (logrotate's `create` takes names only), the log folder,
#    the app's file and its rotation (file logging off: no rotation to do).
getent group "$app_uid" >/dev/null || groupadd --system --gid "$app_uid" triviapay
getent passwd "$app_uid" >/dev/null || useradd --system --uid "$app_uid" --gid "$app_uid" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin triviapay
app_user=$(getent passwd "$app_uid" | cut -d: -f1)
app_group=$(getent group "$app_uid" | cut -d: -f1)
install -d -m 0750 -o "$app_uid" -g "$app_uid" "$log_dir"
if [ -n "$log_path" ]; then
  [ -e "$log_path" ] || install -m 0640 -o "$app_uid" -g "$app_uid" /dev/null "$log_path"
  sed -e "s|@APP_LOG_PATH@|$log_path|" -e "s|@APP_USER@|$app_user|" -e "s|@APP_GROUP@|$app_group|" "$etc/logrotate.in" >"$tmp/logrotate"
  logrotate -d "$tmp/logrotate" 2>"$tmp/err" >/dev/null || {
    tail -n 5 "$tmp/err" >&2
    die "logrotate refuses the rotation of $log_path" "fix $etc/logrotate.in, then run: sudo $0"
  }
  install -m 0644 "$tmp/logrotate" "$logrotate_conf"
else
  rm -f "$logrotate_conf"
fi

# 6. The image: login with the token on stdin, pull, logout (cleanup logs out on failure too).
# Login and pull retried together: a session that lapsed (or was logged out) between tries is renewed.
login_pull() {
  timeout 120 docker login --username "$(cat "$tmp/ocir.user")" --password-stdin "$registry" <"$tmp/ocir.token" >/dev/null \
    && timeout 1200 docker pull -q "$image" >/dev/null
}
retry "docker login $registry and pull $image" login_pull \
  || die "cannot log in to $registry and pull $image with the OCIR credentials in Vault" "check the tag exists in $OCIR_REPO_URL and the OCIR username and token secrets (runbook run triviapay.verify), then run: sudo $0"
docker logout "$registry" >/dev/null 2>&1 || true
rm -f "$tmp/ocir.token" "$tmp/ocir.token.b64"

# 7. The service: what it runs, in a file of names only (mode 644), then started and gated.
umask 022
printf 'TRIVIAPAY_IMAGE=%s\nTRIVIAPAY_PORT=%s\nTRIVIAPAY_LOG_DIR=%s\n' "$image" "$BACKEND_PORT" "$log_dir" >"$etc/container.env.new"
mv -f "$etc/container.env.new" "$etc/container.env"
systemctl daemon-reload
systemctl enable triviapay.service >/dev/null 2>&1
if ! systemctl restart triviapay.service; then
  journalctl -u triviapay.service -n 20 --no-pager >&2 || true
  die "triviapay.service did not become healthy on port $BACKEND_PORT" "journalctl -u triviapay.service; then sudo systemctl restart triviapay.service"
fi
[ -s "$run/ready" ] || die "triviapay.service is active but $run/ready is missing" "systemctl status triviapay.service"
log "ready: $image serves /health on port $BACKEND_PORT"
