#!/usr/bin/env bash
#
# cluster.sh - a throw-away scale-out test bed on this machine's loopback:
# a 3-node MariaDB Galera cluster and Redis (master + replica) watched by
# three Sentinels. It never touches a system MariaDB (3306) or Redis (6379).
#
#   Galera node N (1..3)  SQL 331N, gcomm 457N, IST 458N, SST (rsync) 444N
#   Redis                 6391 (first master), 6392 (first replica)
#   Sentinels             26391-26393, quorum 2, master name "jianfu"
#
# Usage: cluster.sh start | stop | status | clean
#        cluster.sh kill-db N | restart-db N
#        cluster.sh kill-redis-master | restart-redis [PORT]
#
# State (data, configs, logs, pid files) lives in $JIANFU_CLUSTER_DIR,
# default ${TMPDIR:-/tmp}/jianfu-cluster. Packages (Debian 12):
# mariadb-server galera-4 rsync redis-server redis-sentinel.
#
# Processes are signalled only through the pid files under the state
# directory, after checking their command line names that directory or port.

set -Eeuo pipefail
PATH=$PATH:/usr/sbin:/sbin # mariadbd is in /usr/sbin

DIR=${JIANFU_CLUSTER_DIR:-${TMPDIR:-/tmp}/jianfu-cluster}
NODES=(1 2 3)
# Every port stays below the kernel's ephemeral range (32768+): a port in it
# may be held by an outgoing connection, and the SST rsync daemon then dies.
SQL_BASE=3310 GCOMM_BASE=4570 IST_BASE=4580 SST_BASE=4440
REDIS_PORTS=(6391 6392)
SENTINELS=(26391 26392 26393)
MASTER=jianfu
GALERA=${GALERA_LIB:-/usr/lib/galera/libgalera_smm.so}
if ((EUID == 0)); then OWNER=mysql; else OWNER=; fi # mariadbd refuses root

say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }
ms() { date +%s%3N; }
took() { local d=$(($(ms) - $1)); printf '%d.%03ds' $((d / 1000)) $((d % 1000)); }

# until_ok SECONDS CMD... polls CMD every 0.2 s; fails after SECONDS.
until_ok() {
	local end=$(($(ms) + $1 * 1000)); shift
	until "$@"; do
		(($(ms) < end)) || return 1
		sleep 0.2
	done
}

# alive PIDFILE MARK prints the pid if that process runs and its command
# line contains MARK (a stale file or a recycled pid is not ours).
alive() {
	local pid cmd
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cmd=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
	[[ $cmd == *"$2"* ]] || return 1
	echo "$pid"
}

listening() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

check() {
	local b
	for b in mariadbd mariadb mariadb-install-db wsrep_sst_rsync rsync redis-server redis-sentinel redis-cli ss; do
		command -v "$b" >/dev/null || die "missing $b: apt-get install mariadb-server galera-4 rsync redis-server redis-sentinel"
	done
	[[ -r $GALERA ]] || die "missing $GALERA: apt-get install galera-4"
	mkdir -p "$DIR"
	chmod 755 "$DIR" # mariadbd runs as mysql when we are root
}

# ------------------------------------------------------------------ Galera --
node() { echo "$DIR/db$1"; }
node_pid() { alive "$(node "$1")/pid" "--defaults-file=$(node "$1")/my.cnf"; }
node_arg() { [[ ${1:-} =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3, not '${1:-}'"; }

sql() { # sql N STATEMENT: tab-separated, no header, over node N's socket
	local n=$1; shift
	mariadb --no-defaults -uroot --socket="$(node "$n")/sock" --connect-timeout=2 -BN -e "$*"
}
var() { sql "$1" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='$2'" 2>/dev/null || true; }

write_cnf() {
	local n=$1 d peers m
	d=$(node "$n")
	peers=$(for m in "${NODES[@]}"; do printf '127.0.0.1:%d,' $((GCOMM_BASE + m)); done)
	cat >"$d/my.cnf" <<EOF
# Written by cluster.sh on each start.
[mariadbd]
${OWNER:+user = $OWNER}
datadir = $d/data
socket = $d/sock
pid-file = $d/mariadbd.pid
log-error = $d/error.log
port = $((SQL_BASE + n))
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 96M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 2
performance_schema = OFF
max_connections = 200
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = $GALERA
wsrep_cluster_name = jianfu
wsrep_cluster_address = gcomm://${peers%,}
wsrep_node_name = node$n
wsrep_node_address = 127.0.0.1:$((GCOMM_BASE + n))
wsrep_node_incoming_address = 127.0.0.1:$((SQL_BASE + n))
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$((SST_BASE + n))
wsrep_slave_threads = 2
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$((GCOMM_BASE + n));ist.recv_addr=127.0.0.1:$((IST_BASE + n));gcache.size=128M"
EOF
}

synced() {
	# (/proc/PID/cmdline is empty for a moment while the shell execs mariadbd)
	node_pid "$1" >/dev/null || { sleep 0.5; node_pid "$1" >/dev/null; } || { tail -n 30 "$(node "$1")/error.log" >&2; die "node$1 exited, see $(node "$1")/error.log"; }
	[[ $(var "$1" WSREP_LOCAL_STATE_COMMENT) == Synced && $(var "$1" WSREP_READY) == ON ]]
}

# settled: every running node counts exactly the running nodes, i.e. a
# killed node has been evicted. A node restarted before that is ignored
# together with its old incarnation for another ~20 s.
settled() {
	local m up=()
	for m in "${NODES[@]}"; do if node_pid "$m" >/dev/null; then up+=("$m"); fi; done
	for m in "${up[@]}"; do [[ $(var "$m" WSREP_CLUSTER_SIZE) == "${#up[@]}" ]] || return 1; done
}

# recover N prints node N's last committed position (uuid:seqno) as
# `mariadbd --wsrep-recover` finds it in InnoDB, or nothing. The position is
# logged before the server shuts down, and mariadbd has been seen to crash
# (SIGSEGV) in that shutdown: its exit status is not the answer, the log is,
# and a second try covers a crash before the position was logged.
recover() {
	local d try pos=
	d=$(node "$1")
	for try in 1 2; do
		rm -f "$d/recover.log"
		mariadbd --defaults-file="$d/my.cnf" --wsrep-recover --log-error="$d/recover.log" >/dev/null 2>&1 \
			|| say "node$1: mariadbd --wsrep-recover exited with status $? (try $try), see $d/recover.log" >&2
		pos=$({ sed -n 's/.*WSREP: Recovered position: *//p' "$d/recover.log" || true; } 2>/dev/null | tail -n 1)
		[[ -z $pos ]] || break
	done
	echo "$pos"
}

# launch N [--wsrep-new-cluster]
launch() {
	local n=$1 d t0 pos= from; shift
	d=$(node "$n"); t0=$(ms)
	listening $((SQL_BASE + n)) && die "port $((SQL_BASE + n)) is taken"
	if [[ ! -d $d/data/mysql ]]; then
		mkdir -p "$d/data"
		# --no-defaults: /etc/mysql/my.cnf would aim it at /var/lib/mysql.
		mariadb-install-db --no-defaults --datadir="$d/data" ${OWNER:+--user=$OWNER} \
			--auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1 \
			|| die "node$n: mariadb-install-db failed, see $d/install.log"
	fi
	write_cnf "$n"
	[[ -z $OWNER ]] || chown -R "$OWNER": "$d"
	# After SIGKILL grastate.dat says seqno -1, which would cost a full SST:
	# recover the position from InnoDB so the node asks for IST.
	if grep -qs '^seqno: *-1' "$d/data/grastate.dat"; then
		pos=$(recover "$n")
		if [[ -n $pos ]]; then set -- "$@" --wsrep-start-position="$pos"; else say "node$n: no recovered position, it rejoins by a full SST"; fi
	fi
	from=$(stat -c %s "$d/error.log" 2>/dev/null || echo 0)
	say "node$n: starting $*"
	# The shell writes its pid and becomes mariadbd (whose own pid file
	# appears only after the state transfer). --defaults-file comes first.
	# MYSQL_TMP_DIR makes the SST script log its rsync daemon here.
	# shellcheck disable=SC2016
	MYSQL_TMP_DIR=$d setsid bash -c 'echo $$ >"$0"; exec mariadbd "$@"' "$d/pid" \
		--defaults-file="$d/my.cnf" "$@" >>"$d/console.log" 2>&1 </dev/null &
	until_ok 5 test -s "$d/pid" || die "node$n: mariadbd did not launch"
	until_ok 300 synced "$n" || die "node$n: not Synced after 300 s, see $d/error.log"
	local how=
	case $(tail -c +$((from + 1)) "$d/error.log") in
	*"IST completed on joiner"*) how=" by IST" ;;
	*"SST completed on joiner"*) how=" by SST" ;;
	esac
	say "node$n: Synced$how in $(took "$t0"), cluster size $(var "$n" WSREP_CLUSTER_SIZE)"
}

# first_node picks the node to bootstrap from: the one marked safe (it left
# last), else a node never started, else the one that got furthest.
first_node() {
	local n best=-2 seq g
	for n in "${NODES[@]}"; do grep -qs '^safe_to_bootstrap: *1' "$(node "$n")/data/grastate.dat" && { echo "$n"; return; }; done
	for n in "${NODES[@]}"; do [[ -f $(node "$n")/data/grastate.dat ]] || { echo "$n"; return; }; done
	for n in "${NODES[@]}"; do
		write_cnf "$n"
		g=$(node "$n")/data/grastate.dat
		seq=$(recover "$n")
		seq=${seq##*:}
		seq=${seq:-$(sed -n 's/^seqno: *//p' "$g")}
		((seq > best)) && { best=$seq; BEST=$n; }
	done
	sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$(node "$BEST")/data/grastate.dat"
	echo "$BEST"
}

db_start() {
	local n any=
	for n in "${NODES[@]}"; do mkdir -p "$(node "$n")"; if node_pid "$n" >/dev/null; then any=1; fi; done
	[[ -n $any ]] || launch "$(first_node)" --wsrep-new-cluster
	for n in "${NODES[@]}"; do node_pid "$n" >/dev/null || launch "$n"; done
}

db_stop() { # stop_node N SIGNAL
	local n=$1 pid
	pid=$(node_pid "$n") || return 0
	kill -"$2" "$pid"
	until_ok 120 eval "! node_pid $n >/dev/null" || die "node$n (pid $pid) still runs"
	say "node$n: stopped (SIG$2)"
}

# ----------------------------------------------------------- Redis/Sentinel --
rdir() { echo "$DIR/redis$1"; }
rpid() { alive "$(rdir "$1")/pid" "127.0.0.1:$1"; }
rcli() { local p=$1; shift; { redis-cli -h 127.0.0.1 -p "$p" "$@" 2>/dev/null || true; } | tr -d '\r'; }
rinfo() { rcli "$1" info replication | sed -n "s/^$2://p"; }
master_port() { # the master's port according to the first Sentinel that answers
	local s p
	for s in "${SENTINELS[@]}"; do
		p=$(rcli "$s" sentinel get-master-addr-by-name "$MASTER" | sed -n 2p)
		[[ -n $p ]] && { echo "$p"; return 0; }
	done
	return 1
}

redis_conf() { # redis_conf PORT [MASTER_PORT]
	local d; d=$(rdir "$1"); mkdir -p "$d"
	cat >"$d/redis.conf" <<EOF
port $1
bind 127.0.0.1
daemonize yes
pidfile $d/pid
logfile $d/log
dir $d
save ""
appendonly no
maxmemory-policy noeviction
repl-diskless-sync-delay 0
${2:+replicaof 127.0.0.1 $2}
EOF
}

sentinel_conf() {
	local d; d=$(rdir "$1"); mkdir -p "$d"
	cat >"$d/sentinel.conf" <<EOF
port $1
bind 127.0.0.1
daemonize yes
pidfile $d/pid
logfile $d/log
dir $d
sentinel monitor $MASTER 127.0.0.1 ${REDIS_PORTS[0]} 2
sentinel down-after-milliseconds $MASTER 2000
sentinel failover-timeout $MASTER 10000
sentinel parallel-syncs $MASTER 1
EOF
}

linked() { [[ $(rinfo "$1" role) == slave && $(rinfo "$1" master_link_status) == up && (-z ${2:-} || $(rinfo "$1" master_port) == "$2") ]]; }
pong() { [[ $(rcli "$1" ping) == PONG ]]; }
sentinel_ready() { # it sees the master, its replica and the two other Sentinels
	local m; m=" $(rcli "$1" sentinel master "$MASTER" | paste -sd' ') "
	[[ $m == *" flags master "* && $m == *" num-slaves 1 "* && $m == *" num-other-sentinels 2 "* ]]
}

redis_start() {
	local p t0; t0=$(ms)
	for p in "${REDIS_PORTS[@]}" "${SENTINELS[@]}"; do
		if rpid "$p" >/dev/null; then say "redis $p already runs; Redis left as it is"; return; fi
	done
	# Redis holds no truth here: every start resets the roles.
	for p in "${REDIS_PORTS[@]}" "${SENTINELS[@]}"; do rm -rf "$(rdir "$p")"; done
	redis_conf "${REDIS_PORTS[0]}"
	redis_conf "${REDIS_PORTS[1]}" "${REDIS_PORTS[0]}"
	for p in "${REDIS_PORTS[@]}"; do
		listening "$p" && die "port $p is taken"
		redis-server "$(rdir "$p")/redis.conf"
		until_ok 30 pong "$p" || die "redis $p does not answer, see $(rdir "$p")/log"
	done
	until_ok 30 linked "${REDIS_PORTS[1]}" || die "redis ${REDIS_PORTS[1]} did not link to its master"
	for p in "${SENTINELS[@]}"; do
		listening "$p" && die "port $p is taken"
		sentinel_conf "$p"
		redis-sentinel "$(rdir "$p")/sentinel.conf"
	done
	for p in "${SENTINELS[@]}"; do
		until_ok 60 sentinel_ready "$p" || die "sentinel $p does not see the master, its replica and two sentinels, see $(rdir "$p")/log"
	done
	say "redis: master ${REDIS_PORTS[0]}, replica ${REDIS_PORTS[1]}, sentinels ${SENTINELS[*]} in $(took "$t0")"
}

redis_stop() {
	local p pid
	for p in "${SENTINELS[@]}" "${REDIS_PORTS[@]}"; do
		pid=$(rpid "$p") || continue
		kill -TERM "$pid"
		until_ok 30 eval "! rpid $p >/dev/null" || die "redis $p (pid $pid) still runs"
	done
}

failed_over() { # every running Sentinel names a new master that says so
	local s p=
	for s in "${SENTINELS[@]}"; do
		rpid "$s" >/dev/null || continue
		p=$(rcli "$s" sentinel get-master-addr-by-name "$MASTER" | sed -n 2p)
		[[ -n $p && $p != "$1" ]] || return 1
	done
	[[ -n $p && $(rinfo "$p" role) == master ]]
}

# ---------------------------------------------------------------- commands --
status() {
	local n p pid
	for n in "${NODES[@]}"; do
		if pid=$(node_pid "$n"); then
			echo "db node$n pid $pid port $((SQL_BASE + n)): $(var "$n" WSREP_LOCAL_STATE_COMMENT), cluster size $(var "$n" WSREP_CLUSTER_SIZE), $(var "$n" WSREP_CLUSTER_STATUS)"
		else echo "db node$n down"; fi
	done
	for p in "${REDIS_PORTS[@]}"; do
		if pid=$(rpid "$p"); then echo "redis $p pid $pid: $(rinfo "$p" role)"; else echo "redis $p down"; fi
	done
	for p in "${SENTINELS[@]}"; do
		if pid=$(rpid "$p"); then echo "sentinel $p pid $pid: master $(rcli "$p" sentinel get-master-addr-by-name "$MASTER" | paste -sd:)"; else echo "sentinel $p down"; fi
	done
}

case ${1:-} in
start)
	t0=$(ms); check; db_start; redis_start; say "cluster up in $(took "$t0")" ;;
stop)
	redis_stop
	# Leave in reverse order once the view has settled, so node 1 leaves
	# last and is marked safe to bootstrap from.
	until_ok 30 settled || say "cluster view did not settle; stopping anyway"
	for ((i = ${#NODES[@]} - 1; i >= 0; i--)); do db_stop "${NODES[i]}" TERM; done ;;
status) status ;;
kill-db)
	node_arg "${2:-}"; db_stop "$2" KILL ;;
restart-db)
	node_arg "${2:-}"; check
	node_pid "$2" >/dev/null && die "node$2 already runs"
	if ! settled; then
		say "node$2: waiting until the others have evicted its old incarnation"
		until_ok 60 settled || die "the cluster view did not settle within 60 s"
	fi
	launch "$2" ;;
kill-redis-master)
	old=$(master_port) || die "no Sentinel answers"
	pid=$(rpid "$old") || die "the master $old does not run"
	t0=$(ms)
	kill -KILL "$pid"
	until_ok 60 failed_over "$old" || die "no failover within 60 s"
	say "redis master $old killed; Sentinel promoted $(master_port) in $(took "$t0")" ;;
restart-redis)
	ports=("${2:-}")
	[[ -n ${2:-} ]] || ports=("${REDIS_PORTS[@]}")
	for p in "${ports[@]}"; do
		[[ -f $(rdir "$p")/redis.conf ]] || die "redis $p was never started here"
		rpid "$p" >/dev/null && continue
		t0=$(ms)
		redis-server "$(rdir "$p")/redis.conf"
		until_ok 30 pong "$p" || die "redis $p does not answer"
		m=$(master_port) || die "no Sentinel answers"
		# An old master comes back as an empty writable master until
		# Sentinel turns it into a replica; clients ask Sentinel, so
		# nothing is written to it.
		[[ $m == "$p" ]] || until_ok 60 linked "$p" "$m" || die "redis $p did not become a replica of $m"
		say "redis $p back as $(rinfo "$p" role) of $m in $(took "$t0")"
	done ;;
clean)
	for n in "${NODES[@]}"; do node_pid "$n" >/dev/null && die "node$n runs; stop first"; done
	for p in "${REDIS_PORTS[@]}" "${SENTINELS[@]}"; do rpid "$p" >/dev/null && die "redis $p runs; stop first"; done
	rm -rf "$DIR"; say "removed $DIR" ;;
*) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; [[ ${1:-} == -h || ${1:-} == help ]] ;;
esac
