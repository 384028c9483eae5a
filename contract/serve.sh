#!/usr/bin/env bash
# Starts a crm-server for the contract stage on a fresh database and prints,
# once it answers, an admin access token on stdout. Usage:
#   serve.sh <database-url> <port> <data-dir>
# The server's pid is written to <data-dir>/server.pid, its log to server.log.
set -euo pipefail
db="$1"; port="$2"; dir="$3"
bin="$(cd "$(dirname "$0")/.." && pwd)/target/debug/crm-server"
mkdir -p "$dir"
DATABASE_URL="$db" CRM_DATA_DIR="$dir" CRM_BIND="127.0.0.1:$port" \
  CRM_ADMIN_PASSWORD=contract-admin-password CRM_ACCESS_TOKEN_TTL=12h \
  CRM_RATE_LIMIT=off CRM_JOBS_INTERVAL=off CRM_WEBHOOKS_INTERVAL=off \
  CRM_LOG_FORMAT=json CRM_ACCESS_AUDIT=on \
  "$bin" > "$dir/server.log" 2>&1 &
echo $! > "$dir/server.pid"
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@example.com","password":"contract-admin-password"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
