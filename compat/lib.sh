# Helpers sourced by compat/run.sh and by every scenario (compat/clients/*.sh).
#
# A scenario is a bash function sc_NAME run under `set -euo pipefail` in its own
# process with a time limit. It passes when it returns 0. It checks data, not
# only exit codes: use expect_* below, which print "FAIL: why" and exit 1.
#
# Environment a scenario can rely on (exported by run.sh):
#   BOOTSTRAP   host:port of the broker under test (127.0.0.1:PORT)
#   PORT        the broker's port
#   CACHE       $SAMSA_COMPAT_CACHE: tools installed by setup.sh
#   COMPAT      the compat/ directory
#   WORK        an empty directory for this scenario's files
#   SAMSA       the samsa binary built for this run (for creating fixtures only)

: "${SAMSA_COMPAT_CACHE:=$HOME/.cache/samsa-compat}"
CACHE=$SAMSA_COMPAT_CACHE
KAFKA_VERSION=4.3.1
KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
export PATH="$CACHE/bin:$PATH"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# need TOOL...: fails the scenario if a tool is missing (a missing tool is a
# failure, never a skip).
need() {
	local t
	for t in "$@"; do
		if [[ $t == */* ]]; then
			[[ -e $t ]] || fail "missing tool $t (run compat/setup.sh)"
		else
			command -v "$t" >/dev/null 2>&1 || fail "missing tool $t (run compat/setup.sh)"
		fi
	done
}

# run CMD...: logs the command line, then runs it.
run() {
	echo "+ $*" >&2
	"$@"
}

expect_eq() { # actual expected what
	[[ "$1" == "$2" ]] || fail "$3: expected [$2], got [$1]"
}

expect_contains() { # haystack needle what
	[[ "$1" == *"$2"* ]] || fail "$3: expected output containing [$2], got [$1]"
}

expect_not_contains() { # haystack needle what
	[[ "$1" != *"$2"* ]] || fail "$3: output still contains [$2]: [$1]"
}

# expect_file_eq FILE EXPECTED-FILE WHAT: compares two files line by line.
expect_file_eq() {
	if ! diff -u "$2" "$1" >"$WORK/diff.txt"; then
		head -40 "$WORK/diff.txt" >&2
		fail "$3: $(grep -c '^[-+][^-+]' "$WORK/diff.txt") lines differ from the expected (diff above)"
	fi
}

# samsa_topic NAME PARTITIONS: creates a fixture topic with Samsa's own CLI,
# for scenarios whose client cannot create topics.
samsa_topic() {
	run "$SAMSA" -b "$BOOTSTRAP" topic create "$1" --partitions "$2" >&2
}

# Kafka's tools as the distribution's bin/kafka-*.sh scripts run them:
# setup.sh writes a wrapper per tool into $KAFKA_HOME/bin.
kafka_path() {
	need "$KAFKA_HOME/bin/kafka-topics"
	export PATH="$KAFKA_HOME/bin:$PATH"
}
