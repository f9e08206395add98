#!/usr/bin/env bash
# kafka-jars.sh CACHE VERSION: makes sure Apache Kafka's jars are in
# CACHE/kafka-VERSION/lib (Maven: from ~/.m2 when the compat suite fetched
# them already, else from Maven Central) and prints that directory.
set -euo pipefail
CACHE=$1 VERSION=$2
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KLIB=$CACHE/kafka-$VERSION/lib
stamp=$(sha256sum "$BENCH/kafka/pom.xml" | cut -d' ' -f1)
if [[ $(cat "$CACHE/kafka-$VERSION/stamp" 2>/dev/null) != "$stamp" ]]; then
	echo "fetching Apache Kafka $VERSION jars (Maven) into $KLIB" >&2
	command -v mvn >/dev/null || { echo "kafka-jars.sh: mvn is needed to fetch Kafka" >&2; exit 1; }
	rm -rf "$CACHE/kafka-$VERSION"
	# Maven Central sometimes drops a download; a second try costs seconds,
	# a red smoke test in the suite costs a run.
	for attempt in 1 2 3; do
		mvn -q -B -f "$BENCH/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$KLIB.new" >&2 && break
		((attempt < 3)) || { echo "kafka-jars.sh: fetching Kafka's jars failed 3 times" >&2; exit 1; }
		echo "Maven failed (attempt $attempt); retrying in 5 s" >&2
		rm -rf "$KLIB.new"
		sleep 5
	done
	mv "$KLIB.new" "$KLIB"
	echo "$stamp" >"$CACHE/kafka-$VERSION/stamp"
fi
echo "$KLIB"
