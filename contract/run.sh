#!/usr/bin/env bash
# The contract stage of .ci/run: tools no one here wrote check the spec and a
# live server. Installs its pinned tools itself (package-lock.json).
#   1. Redocly (recommended rules, every warning an error) and Spectral
#      (spectral:oas, failing on warnings) lint openapi/openapi.json.
#   2. openapi-typescript generates a client that must compile under
#      `tsc --strict`; smoke.ts runs a sale with openapi-fetch against a live
#      server on SQLite and on PostgreSQL, validating every response against
#      the spec.
#   3. schemathesis (contract/schemathesis.toml: every check, every phase,
#      a fixed seed, bounded examples) against the same live servers.
# Usage: contract/run.sh <postgres-url-of-a-maintenance-database>
set -euo pipefail
cd "$(dirname "$0")"
pg_url="$1"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

echo "-- npm ci (pinned tools)"
npm ci --no-audit --no-fund --loglevel=error

echo "-- redocly lint (recommended-strict)"
npx --no-install redocly lint ../openapi/openapi.json --config redocly.yaml

echo "-- spectral lint (spectral:oas, warnings fail)"
npx --no-install spectral lint ../openapi/openapi.json -r .spectral.yaml --fail-severity=warn

echo "-- python venv (pinned schemathesis)"
if [ ! -x .venv/bin/schemathesis ]; then
  rm -rf .venv
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

echo "-- openapi-typescript, then tsc --strict"
rm -rf out && mkdir -p out
npx --no-install openapi-typescript ../openapi/openapi.json -o out/schema.d.ts
npx --no-install tsc -p tsconfig.json

work="$(mktemp -d)"
stop() {
  for pidfile in "$work"/*/server.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
trap stop EXIT

smoke() {
  local name="$1" db="$2" port="$3" token
  echo "-- the generated client against a live server on $name"
  token="$(./serve.sh "$db" "$port" "$work/$name")"
  if ! node out/js/smoke.js "http://127.0.0.1:$port" contract-admin-password; then
    tail -n 20 "$work/$name/server.log" >&2
    return 1
  fi
  echo "-- schemathesis against the server on $name"
  # A fresh cache per run: failures recorded by an earlier run are not
  # replayed, and Hypothesis's example database starts empty, as in CI (grown
  # by local runs to 19 MB, it made the coverage phase take 600 s, not 100).
  rm -rf .schemathesis .hypothesis
  if ! .venv/bin/schemathesis run ../openapi/openapi.json --url "http://127.0.0.1:$port" \
      -H "Authorization: Bearer $token" --no-color; then
    tail -n 20 "$work/$name/server.log" >&2
    return 1
  fi
  kill "$(cat "$work/$name/server.pid")"
}

smoke sqlite "sqlite://$work/crm.db" 18931

db="crm_contract_$$"
psql -q "$pg_url" -c "CREATE DATABASE $db"
pg_db="${pg_url%/*}/$db"
status=0
smoke postgres "$pg_db" 18932 || status=$?
psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
exit "$status"
