#!/usr/bin/env bash
# Fetches the real servers the tests start when no address is given and no container runtime answers:
# Cassandra 5.0 and Kafka 3.9 jars from Maven Central into .cache/servers/<name>/lib (git ignores .cache/).
# Idempotent and cached: a server whose jars are present (and whose pom has not changed) is skipped.
# Needs Java 17 and Maven. `npm test` runs it first (the `pretest` script).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
servers_dir="$root/test/servers"
cache_dir="${CARILLON_SERVERS_CACHE:-$root/.cache/servers}"

# On a fresh Debian/Ubuntu CI machine, install what is missing (as root, or with passwordless sudo);
# CARILLON_NO_APT=1 turns this off. Elsewhere, say what to install and stop.
apt_packages=()
command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || apt_packages+=(maven)
# The TLS tests make their certificates with the openssl CLI (test/support/certs.ts).
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
# Graphite's own whisper tools read back the files the whisper store writes (a compatibility test).
[[ -x /usr/bin/whisper-fetch ]] || apt_packages+=(python3-whisper)
# graphite-web 1.1.8 is the reference the differential render tests (test/graphite-web) compare carillon against.
[[ -f /usr/lib/python3/dist-packages/graphite/render/views.py ]] || apt_packages+=(graphite-web)
# carbon (graphite-carbon) is the reference for reading its storage-aggregation.conf (and carbon-cache for benches).
[[ -f /usr/lib/python3/dist-packages/carbon/storage.py ]] || apt_packages+=(graphite-carbon)
# The http writer's tests post line protocol to real VictoriaMetrics and InfluxDB 1.x; archives are read by zstd.
command -v victoria-metrics >/dev/null 2>&1 || apt_packages+=(victoria-metrics)
command -v influxd >/dev/null 2>&1 || apt_packages+=(influxdb)
command -v zstd >/dev/null 2>&1 || apt_packages+=(zstd)
# Redis: only when none answers on the default port and there is no redis-server for the harness to start.
if ! command -v redis-server >/dev/null 2>&1 && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  apt_packages+=(redis-server)
fi
# MariaDB: the mysql writer's tests use one on 127.0.0.1:3306, or a mariadbd the harness starts (fault tests always
# start their own), so the server binaries are needed whenever none answers there, and for the fault tests always.
command -v mariadbd >/dev/null 2>&1 || apt_packages+=(mariadb-server)
# Prometheus scrapes the prometheus writer's exporter in its end-to-end test (a process the test starts).
command -v prometheus >/dev/null 2>&1 || apt_packages+=(prometheus)
if ((${#apt_packages[@]} > 0)) && [[ "${CARILLON_NO_APT:-}" != 1 ]] && command -v apt-get >/dev/null 2>&1; then
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo -n)
  echo "prepare.sh: installing ${apt_packages[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
  # The Debian package starts a Redis on 6379 where systemd runs; elsewhere the harness starts its own.
fi

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "prepare.sh: '$1' is not installed; $2" >&2
    exit 1
  fi
}
need java "install a Java 17 runtime (Debian: apt-get install -y openjdk-17-jre-headless)."
need mvn "install Maven (Debian: apt-get install -y maven)."
need openssl "install the openssl CLI (Debian: apt-get install -y openssl); the TLS tests make certificates with it."
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [[ -n "$java_major" && "$java_major" -lt 17 ]]; then
  echo "prepare.sh: java is version $java_major; Cassandra 5.0 and Kafka 3.9 here need Java 17 or newer." >&2
  exit 1
fi

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
