#!/usr/bin/env bash
# Fetches the real servers the tests start when no address is given and no container runtime answers:
# Cassandra 5.0 and Kafka 3.9 jars from Maven Central into .cache/servers/<name>/lib (git ignores .cache/).
# Idempotent and cached: a server whose jars are present (and whose pom has not changed) is skipped.
# Needs Java 17 and Maven. CI calls this once before `vitest run`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
servers_dir="$root/test/servers"
cache_dir="${CARILLON_SERVERS_CACHE:-$root/.cache/servers}"

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "prepare.sh: '$1' is not installed; $2" >&2
    exit 1
  fi
}
need java "install a Java 17 runtime (Debian: apt-get install -y openjdk-17-jre-headless)."
need mvn "install Maven (Debian: apt-get install -y maven)."

# Fetch one server's jars unless the stamp says this exact pom was already fetched completely.
fetch() {
  local name="$1" main_jar_glob="$2"
  local pom="$servers_dir/$name/pom.xml"
  local lib="$cache_dir/$name/lib"
  local stamp="$cache_dir/$name/.fetched"
  local pom_sum
  pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$pom_sum" ]] && compgen -G "$lib/$main_jar_glob" >/dev/null; then
    echo "prepare.sh: $name jars already in $lib"
    return
  fi
  echo "prepare.sh: fetching $name jars into $lib"
  local started=$SECONDS
  rm -rf "$lib" "$stamp"
  mkdir -p "$lib"
  # -B: no colours/progress in CI logs; -q: only errors.
  mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies -Dservers.lib="$lib"
  compgen -G "$lib/$main_jar_glob" >/dev/null || { echo "prepare.sh: $name fetch left no $main_jar_glob in $lib" >&2; exit 1; }
  echo "$pom_sum" >"$stamp"
  echo "prepare.sh: $name fetched in $((SECONDS - started)) s"
}

fetch cassandra 'cassandra-all-*.jar'
fetch kafka 'kafka_2.13-*.jar'

if ! command -v redis-server >/dev/null 2>&1; then
  echo "prepare.sh: note: redis-server is not installed; tests use REDIS_URL, a Redis on 127.0.0.1:6379, or a container." \
    "To let the harness start one: apt-get install -y redis-server" >&2
fi
