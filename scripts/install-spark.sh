#!/usr/bin/env bash
# Installs what the Spark portability test (tests/scale/test_spark_parity.py) needs beyond the
# locked Python packages: a Java 17+ runtime for pyspark 4 (Debian's openjdk-17-jre-headless when
# `java` is missing or older). pyspark and dbt-spark[session] are in the `spark` dependency
# group of pyproject.toml, which `make test-env` installs (uv sync --all-groups).
set -euo pipefail
java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}
if command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "Java 17 is missing and this user cannot install it: apt-get install openjdk-17-jre-headless as root" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
echo "== installing Debian's openjdk-17-jre-headless for the Spark tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless procps >/dev/null
java -version
