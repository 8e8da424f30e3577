#!/usr/bin/env bash
# Make the credentials compose.yaml mounts as secrets: one file each in ./secrets/
# (git-ignored), random where none exists yet. Run it once before the first
# `docker compose up`; running it again keeps every file that is there.
#
#   deploy/compose-secrets.sh [DIR]        (default: ./secrets next to compose.yaml)
#
# Out of the box every connector talks to its sandbox, and the sandbox accepts the
# same random credential. To use a real service, write its credential into the file
# (e.g. `printf '%s' "$MONDAY_TOKEN" > secrets/monday_api_token`) and point the
# connector at the service (see the README, "Deployment").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-secrets}
umask 077
mkdir -p "$dir"
# The directory keeps other users of this machine out. The files are readable by any
# user of a container that mounts them: the processes run as non-root users
# (uid 10001, PostgreSQL's 999) that do not own files made here.
chmod 0700 "$dir"

random() { # 40 characters from [A-Za-z0-9]
    LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true
}

made=()
put() { # put NAME VALUE: write the file unless it exists
    local path="$dir/$1"
    if [ -s "$path" ]; then
        return 0
    fi
    printf '%s' "$2" >"$path"
    chmod 0644 "$path"
    made+=("$1")
}

put postgres_password "$(random)"
put database_url "postgresql://dataworkflows:$(cat "$dir/postgres_password")@postgres:5432/dataworkflows"
put api_key "$(random)"
put engine_api_key "$(random)"
# The engine accepts the key people use and the Slack bot's own.
put api_keys "$(cat "$dir/api_key"),$(cat "$dir/engine_api_key")"
put service_token "$(random)"
# Seals secret run inputs (32 random bytes, hex): keep it, or sealed inputs of runs
# still to resume cannot be opened.
put secrets_key "$(LC_ALL=C tr -dc '0-9a-f' </dev/urandom | head -c 64 || true)"
put tracker_password "$(random)"
put tracker_jwt_secret "$(random)"
put monday_api_token "$(random)"
put slack_bot_token "xoxb-$(random)"
put slack_signing_secret "$(random)"
put confluence_api_token "$(random)"
put graph_client_secret "$(random)"

if [ ${#made[@]} -eq 0 ]; then
    echo "Every secret exists already in $dir/; nothing changed."
else
    echo "Made ${#made[@]} secret(s) in $dir/: ${made[*]}"
fi
echo "Your API key (send it as 'Authorization: Bearer <key>'): $(cat "$dir/api_key")"
