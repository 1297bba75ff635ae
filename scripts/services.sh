# Test services, sourced by scripts/test (and usable by hand: set root, work and venv first).
# start_sshd: OpenSSH on 127.0.0.1 with its own host key and a test user (password + ed25519 key
# with passphrase), internal-sftp; exports EDLAKE_TEST_SFTP_*.
# start_cron: the system's cron daemon (for the schedule test), when none runs.
# start_azurite: Azurite 3.35 blob service on 127.0.0.1 with container `oea`; exports
# EDLAKE_TEST_AZURITE.

# --- a real OpenSSH server on 127.0.0.1 for the SFTP tests (needs root for its own user) --------
start_sshd() {
  command -v /usr/sbin/sshd >/dev/null || { echo "scripts/test: no sshd; the SFTP tests will fail"; return; }
  [ "$(id -u)" = 0 ] || { echo "scripts/test: not root, so no test sshd; the SFTP tests will fail"; return; }
  sftp_root=$(mktemp -d /tmp/edlake-sftp.XXXXXX)
  chmod 755 "$sftp_root"
  mkdir -p "$sftp_root/data" "$sftp_root/etc" /run/sshd
  id "$sftp_user" >/dev/null 2>&1 ||
    useradd --system --home-dir "$sftp_root/data" --shell /usr/sbin/nologin "$sftp_user"
  usermod --home "$sftp_root/data" "$sftp_user"
  local pw pass port
  pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  pass=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
  echo "$sftp_user:$pw" | chpasswd
  ssh-keygen -q -t ed25519 -N '' -f "$sftp_root/etc/host_ed25519"
  ssh-keygen -q -t ed25519 -N "$pass" -f "$work/client_ed25519"
  cp "$work/client_ed25519.pub" "$sftp_root/etc/authorized_keys"
  chmod 644 "$sftp_root/etc/authorized_keys"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$sftp_root/etc/sshd_config" <<SSHD
ListenAddress 127.0.0.1
Port $port
HostKey $sftp_root/etc/host_ed25519
PidFile $sftp_root/etc/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $sftp_root/etc/authorized_keys
StrictModes no
AllowUsers $sftp_user
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d $sftp_root/data
AllowTcpForwarding no
X11Forwarding no
SSHD
  /usr/sbin/sshd -D -f "$sftp_root/etc/sshd_config" -E "$work/sshd.log" &
  sshd_pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  export EDLAKE_TEST_SFTP_PORT="$port" EDLAKE_TEST_SFTP_USER="$sftp_user"
  export EDLAKE_TEST_SFTP_PASSWORD="$pw" EDLAKE_TEST_SFTP_KEY="$work/client_ed25519"
  export EDLAKE_TEST_SFTP_KEY_PASSPHRASE="$pass" EDLAKE_TEST_SFTP_DATA="$sftp_root/data"
  EDLAKE_TEST_SFTP_FINGERPRINT=$(ssh-keygen -lf "$sftp_root/etc/host_ed25519.pub" | awk '{print $2}')
  export EDLAKE_TEST_SFTP_FINGERPRINT
  chown -R "$sftp_user" "$sftp_root/data"
  echo "scripts/test: sshd on 127.0.0.1:$port (host key $EDLAKE_TEST_SFTP_FINGERPRINT)"
}
# --- Azurite (Azure Blob storage emulator) on 127.0.0.1 for the data-share tests ---------------
azurite_pid=""
start_azurite() {
  if ! command -v npm >/dev/null; then echo "scripts/test: no npm; the Azure tests will fail"; return; fi
  local dir="${target:-$root/target}/azurite"
  if [ ! -x "$dir/node_modules/.bin/azurite-blob" ]; then
    npm install --silent --no-audit --no-fund --prefix "$dir" azurite@3.35.0 >/dev/null
  fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$dir/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
    --location "$work/azurite" --silent --disableTelemetry --skipApiVersionCheck >"$work/azurite.log" 2>&1 &
  azurite_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  export EDLAKE_TEST_AZURITE="http://127.0.0.1:$port/devstoreaccount1"
  "$venv/bin/python" - <<PY
from azure.storage.blob import BlobServiceClient
key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
conn = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint=$EDLAKE_TEST_AZURITE;"
BlobServiceClient.from_connection_string(conn).create_container("oea")
PY
  echo "scripts/test: Azurite on $EDLAKE_TEST_AZURITE"
}

# --- a real cron daemon: the schedule test sets a run a minute ahead and waits for it -----------
cron_pid=""
start_cron() {
  if pgrep -x cron >/dev/null; then echo "scripts/test: cron is already running"; return; fi
  [ "$(id -u)" = 0 ] || { echo "scripts/test: not root, so no cron daemon; the schedule test will fail"; return; }
  /usr/sbin/cron -f -L 15 >"$work/cron.log" 2>&1 &
  cron_pid=$!
  echo "scripts/test: cron daemon started"
}
