#!/usr/bin/env bash
# Installs or fetches every client the compatibility suite runs, into
# $SAMSA_COMPAT_CACHE (default $HOME/.cache/samsa-compat). Safe to run again: a
# component whose pinned inputs have not changed since it last installed is
# skipped. A component that fails to install is reported and the others still
# install; the scenarios that need it then fail (never skip).
#
#   kcat                 Debian package (kcat, else kafkacat)
#   Apache Kafka 4.3.1   kafka-clients, kafka-tools, kafka_2.13 and their
#                        dependencies from Maven Central (compat/java/pom.xml),
#                        with bin/kafka-* wrappers; the Java scenario program
#   Python               confluent-kafka + kafka-python (current), kafka-python 2.0.2
#                        in two venvs (compat/python/requirements-*.txt)
#   Node                 kafkajs 2.2.4 and codecs (compat/node/package-lock.json)
#   Go                   sarama, segmentio/kafka-go, franz-go (compat/goclients)
#   TLS                  a CA, the broker's and a client's certificates in
#                        $CACHE/tls as PEM files, PKCS12 stores made by openssl
#                        and JKS/PKCS12 stores made by Java's keytool, for
#                        run.sh's SSL, SASL_SSL and mTLS listeners
set -uo pipefail

COMPAT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$COMPAT/lib.sh"
mkdir -p "$CACHE/stamps"
failures=0

say() { echo "setup: $*"; }

# fresh NAME FILE...: true if the component NAME was installed from exactly
# these inputs (and this script) before.
fresh() {
	local name=$1
	shift
	local sum
	sum=$(cat "$@" "$COMPAT/setup.sh" | sha256sum | cut -d' ' -f1)
	[[ -f $CACHE/stamps/$name && $(cat "$CACHE/stamps/$name") == "$sum" ]] && return 0
	echo "$sum" >"$CACHE/stamps/$name.new"
	return 1
}
stamp() { mv "$CACHE/stamps/$1.new" "$CACHE/stamps/$1"; }

component() { # NAME FUNCTION
	say "$1"
	if "$2"; then
		say "$1 ok"
	else
		say "FAILED: $1"
		failures=$((failures + 1))
	fi
}

install_kcat() {
	command -v kcat >/dev/null 2>&1 && return 0
	if command -v kafkacat >/dev/null 2>&1; then
		mkdir -p "$CACHE/bin" && ln -sf "$(command -v kafkacat)" "$CACHE/bin/kcat"
		return 0
	fi
	local sudo=""
	((EUID == 0)) || sudo=sudo
	$sudo apt-get update -qq || return 1
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kcat && return 0
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kafkacat || return 1
	mkdir -p "$CACHE/bin" && ln -sf "$(command -v kafkacat)" "$CACHE/bin/kcat"
}

# Kafka 4.x main classes, as the distribution's bin/kafka-*.sh scripts name them.
KAFKA_TOOLS=(
	"kafka-topics org.apache.kafka.tools.TopicCommand"
	"kafka-console-producer org.apache.kafka.tools.ConsoleProducer"
	"kafka-console-consumer org.apache.kafka.tools.consumer.ConsoleConsumer"
	"kafka-configs kafka.admin.ConfigCommand"
	"kafka-producer-perf-test org.apache.kafka.tools.ProducerPerformance"
	"kafka-consumer-perf-test org.apache.kafka.tools.ConsumerPerformance"
	"kafka-get-offsets org.apache.kafka.tools.GetOffsetShell"
	"kafka-delete-records org.apache.kafka.tools.DeleteRecordsCommand"
	"kafka-consumer-groups org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
	"kafka-dump-log org.apache.kafka.tools.DumpLogSegments"
	"kafka-metadata-quorum org.apache.kafka.tools.MetadataQuorumCommand"
	"kafka-leader-election org.apache.kafka.tools.LeaderElectionCommand"
	"kafka-reassign-partitions org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
	"kafka-cluster org.apache.kafka.tools.ClusterTool"
	"kafka-acls org.apache.kafka.tools.AclCommand"
)

# kafka_wrappers_present: every tool above has its wrapper script.
kafka_wrappers_present() {
	local t name class
	for t in "${KAFKA_TOOLS[@]}"; do
		read -r name class <<<"$t"
		[[ -x $KAFKA_HOME/bin/$name ]] || return 1
	done
}

has_class() {
	local jar
	for jar in "$KAFKA_HOME"/lib/kafka*-"$KAFKA_VERSION".jar; do
		unzip -Z1 "$jar" "${1//.//}.class" >/dev/null 2>&1 && return 0
	done
	return 1
}

install_kafka() {
	need_cmd java mvn || return 1
	local srcs
	srcs=$(find "$COMPAT/java/src" -type f | sort)
	# shellcheck disable=SC2086
	fresh kafka "$COMPAT/java/pom.xml" $srcs && kafka_wrappers_present && return 0
	rm -rf "$KAFKA_HOME/lib"
	mvn -q -B -Dstyle.color=never -f "$COMPAT/java/pom.xml" -Dcompat.buildDir="$KAFKA_HOME/build" \
		package dependency:copy-dependencies -DoutputDirectory="$KAFKA_HOME/lib" || return 1
	cp "$KAFKA_HOME/build/samsa-compat-0.jar" "$KAFKA_HOME/samsa-compat.jar" || return 1
	mkdir -p "$KAFKA_HOME/bin"
	local t name class
	for t in "${KAFKA_TOOLS[@]}"; do
		read -r name class <<<"$t"
		has_class "$class" || { say "FAILED: no class $class in the Kafka jars"; return 1; }
		cat >"$KAFKA_HOME/bin/$name" <<EOF
#!/bin/sh
# $name from Apache Kafka $KAFKA_VERSION, as bin/$name.sh runs it
# (\$CLASSPATH, if set, before Kafka's jars, as kafka-run-class.sh puts it).
exec java \${KAFKA_HEAP_OPTS:--Xmx512m} \${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} \\
  -Dorg.slf4j.simpleLogger.defaultLogLevel=\${KAFKA_LOG_LEVEL:-warn} -Dorg.slf4j.simpleLogger.logFile=System.err \\
  -cp "\${CLASSPATH:+\$CLASSPATH:}$KAFKA_HOME/lib/*" $class "\$@"
EOF
		chmod +x "$KAFKA_HOME/bin/$name"
	done
	stamp kafka
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { say "FAILED: $c is not installed"; return 1; }
	done
}

venv() { # NAME REQUIREMENTS
	local dir=$CACHE/$1
	fresh "$1" "$2" && [[ -x $dir/bin/python ]] && return 0
	rm -rf "$dir"
	python3 -m venv "$dir" || return 1
	"$dir/bin/pip" install -q --disable-pip-version-check -r "$2" || return 1
	stamp "$1"
}
install_python() {
	need_cmd python3 || return 1
	venv py-current "$COMPAT/python/requirements-current.txt" &&
		venv py-kafka-python-2.0.2 "$COMPAT/python/requirements-kafka-python-2.0.2.txt"
}

install_node() {
	need_cmd node npm || return 1
	local dir=$CACHE/node
	fresh node "$COMPAT/node/package.json" "$COMPAT/node/package-lock.json" &&
		[[ -d $dir/node_modules/kafkajs ]] && return 0
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	cp "$COMPAT/node/package.json" "$COMPAT/node/package-lock.json" "$dir/" || return 1
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
	stamp node
}

install_go() {
	need_cmd go || return 1
	mkdir -p "$CACHE/bin"
	# go build is incremental: cheap when nothing changed.
	(cd "$COMPAT/goclients" && GOWORK=off GOFLAGS=-mod=readonly go build -o "$CACHE/bin/goclients" .)
}

# The certificates of the security listeners (run.sh) and of the scenarios
# that reach them, made with the real tools: openssl for the keys,
# certificates and the PKCS12 key stores, Java's keytool for the JKS stores
# and the trust stores. Every store's password is $TLS_PASSWORD (lib.sh).
# Made again when this script changes or a certificate expires within 30 days.
TLS_FILES=(ca.crt broker.crt broker.key broker.pem broker.p12 broker.jks client.crt client.key client.pem
	client.p12 client.jks truststore.jks truststore.p12)
install_tls() {
	need_cmd openssl keytool || return 1
	local d=$TLS_DIR f ok=1
	for f in "${TLS_FILES[@]}"; do [[ -s $d/$f ]] || ok=0; done
	local uptodate=0
	fresh tls && uptodate=1 # else it wrote the new stamp
	if ((ok && uptodate)) && openssl x509 -checkend $((30 * 86400)) -noout -in "$d/broker.crt" >/dev/null &&
		openssl x509 -checkend $((30 * 86400)) -noout -in "$d/client.crt" >/dev/null; then
		return 0
	fi
	((uptodate)) && cp "$CACHE/stamps/tls" "$CACHE/stamps/tls.new"
	rm -rf "$d" && mkdir -p "$d/tmp" || return 1
	local pw=$TLS_PASSWORD days=825
	(
		set -e
		cd "$d/tmp"
		openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ../ca.crt \
			-subj '/O=Samsa compat/CN=Samsa compat CA' \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		# The broker: 127.0.0.1 and localhost, so clients that check host names accept it.
		openssl req -newkey rsa:2048 -nodes -sha256 -keyout ../broker.key -out broker.csr \
			-subj '/O=Samsa compat/CN=localhost'
		printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'extendedKeyUsage=serverAuth,clientAuth' \
			'basicConstraints=CA:FALSE' >broker.ext
		openssl x509 -req -in broker.csr -CA ../ca.crt -CAkey ca.key -CAcreateserial -CAserial ca.srl -sha256 -days "$days" \
			-extfile broker.ext -out ../broker.crt
		# The client of the mTLS scenarios: principal User:CN=compat-client,OU=clients,O=Samsa compat.
		openssl req -newkey rsa:2048 -nodes -sha256 -keyout ../client.key -out client.csr \
			-subj '/O=Samsa compat/OU=clients/CN=compat-client'
		printf '%s\n' 'extendedKeyUsage=clientAuth' 'basicConstraints=CA:FALSE' >client.ext
		openssl x509 -req -in client.csr -CA ../ca.crt -CAkey ca.key -CAcreateserial -CAserial ca.srl -sha256 -days "$days" \
			-extfile client.ext -out ../client.crt
		cat ../broker.key ../broker.crt ../ca.crt >../broker.pem
		cat ../client.key ../client.crt >../client.pem
		# PKCS12 key stores by openssl (3.x: AES-256-CBC with PBKDF2, an HMAC-SHA256 MAC).
		openssl pkcs12 -export -name broker -inkey ../broker.key -in ../broker.crt -certfile ../ca.crt \
			-passout "pass:$pw" -out ../broker.p12
		openssl pkcs12 -export -name client -inkey ../client.key -in ../client.crt -certfile ../ca.crt \
			-passout "pass:$pw" -out ../client.p12
		# JKS key stores by keytool (-deststoretype JKS: a real JKS, not Java 9+'s default PKCS12).
		keytool -importkeystore -noprompt -srckeystore ../broker.p12 -srcstoretype PKCS12 -srcstorepass "$pw" \
			-destkeystore ../broker.jks -deststoretype JKS -deststorepass "$pw" -destkeypass "$pw"
		keytool -importkeystore -noprompt -srckeystore ../client.p12 -srcstoretype PKCS12 -srcstorepass "$pw" \
			-destkeystore ../client.jks -deststoretype JKS -deststorepass "$pw" -destkeypass "$pw"
		# Trust stores by keytool: the CA as a trusted certificate entry.
		keytool -importcert -noprompt -alias compat-ca -file ../ca.crt -keystore ../truststore.jks \
			-storetype JKS -storepass "$pw"
		keytool -importcert -noprompt -alias compat-ca -file ../ca.crt -keystore ../truststore.p12 \
			-storetype PKCS12 -storepass "$pw"
	) >"$d/tmp/log" 2>&1 || { cat "$d/tmp/log"; say "FAILED: making the certificates and stores"; return 1; }
	for f in "${TLS_FILES[@]}"; do
		[[ -s $d/$f ]] || { say "FAILED: $d/$f was not made"; return 1; }
	done
	rm -rf "$d/tmp"
	chmod 600 "$d"/*.key "$d"/*.pem
	stamp tls
}

component kcat install_kcat
component "Apache Kafka $KAFKA_VERSION (Maven)" install_kafka
component "Python clients" install_python
component "Node clients" install_node
component "Go clients" install_go
component "TLS certificates and stores" install_tls

if ((failures > 0)); then
	say "$failures component(s) FAILED to install"
	exit 1
fi
say "all components installed in $CACHE"
