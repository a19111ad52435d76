#!/usr/bin/env bash
# A real single-node Slurm cluster on this host, for testing the batch scripts.
#
#   Scripts/slurm/local-cluster.sh start    # install (apt-get) if needed, start munged, slurmctld, slurmd
#   Scripts/slurm/local-cluster.sh status   # daemons, sinfo
#   Scripts/slurm/local-cluster.sh env      # prints `export SLURM_CONF=...` (eval it to use sbatch/squeue)
#   Scripts/slurm/local-cluster.sh stop     # stops what `start` started
#
# Everything lives in one state dir, $STABLESAM_SLURM_STATE (default /tmp/stablesam-slurm): the generated
# slurm.conf, the controller's state, slurmd's spool, pid files and the daemons' logs. Nothing is written
# to /etc/slurm, so the Slurm client commands need SLURM_CONF=$STATE/slurm.conf (`env` prints it).
#
# Made for CI boxes and VMs without systemd and without a usable cgroup hierarchy: the daemons are started
# directly (no systemctl), processes are tracked with proctrack/linuxproc and tasks get task/none, so no
# cgroup is created or needed. No accounting database (accounting_storage/none): use squeue/scontrol, not
# sacct. Both daemons run as root (SlurmUser=root), which is fine for a throwaway local cluster only.
#
# Exit status: 0 done; 1 error; 77 skipped (not root / no apt-get, Slurm cannot be installed), the
# conventional "skipped" status of test harnesses.
set -euo pipefail

STATE=${STABLESAM_SLURM_STATE:-/tmp/stablesam-slurm}
CONF=$STATE/slurm.conf
LOG=$STATE/log
CTLD_PORT=${STABLESAM_SLURMCTLD_PORT:-6817}
SLURMD_PORT=${STABLESAM_SLURMD_PORT:-6818}
# munged's default socket: Slurm's auth/munge plugin uses it unless AuthInfo says otherwise, so a munged
# that is already running on this host (a real install) is reused rather than duplicated.
MUNGE_SOCKET=/run/munge/munge.socket.2
START_TIMEOUT=${STABLESAM_SLURM_START_TIMEOUT:-60}

skip() { echo "SKIPPED: $*" >&2; exit 77; }
die() { echo "local-cluster: error: $*" >&2; exit 1; }
say() { echo "local-cluster: $*" >&2; }

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# --- installation -------------------------------------------------------------------------------------
ensure_installed() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    [[ $(id -u) -eq 0 ]] || skip "Slurm is not installed and installing it needs root (apt-get install slurm-wlm munge)"
    command -v apt-get >/dev/null || skip "Slurm is not installed and there is no apt-get to install it (need slurmctld, slurmd, sbatch, munged)"
    say "installing slurm-wlm and munge with apt-get"
    # --no-install-recommends: slurm-wlm recommends every plugin's -dev package (hundreds of MB).
    # No systemd here, so the packages' postinst cannot start services; we start the daemons ourselves.
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends slurm-wlm munge >"$STATE/apt.log" 2>&1; then
        apt-get update >>"$STATE/apt.log" 2>&1 || true
        apt-get install -y --no-install-recommends slurm-wlm munge >>"$STATE/apt.log" 2>&1 \
            || skip "apt-get install slurm-wlm munge failed (see $STATE/apt.log)"
    fi
}

# --- munge ---------------------------------------------------------------------------------------------
munge_works() { command -v munge >/dev/null && munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; }

start_munge() {
    if munge_works; then
        say "munged already running (socket $MUNGE_SOCKET), reusing it"
        return
    fi
    local user=munge
    id munge >/dev/null 2>&1 || user=root
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "generating /etc/munge/munge.key"
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key --force
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    # munged refuses to start when its key, socket dir or log dir is not owned by the user it runs as
    # (or is group/world writable); the Debian package sets this up for user munge, but be explicit.
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown "$user": /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    chmod 0400 /etc/munge/munge.key
    local force=()
    [[ $user == root ]] && force=(--force)
    # No systemd in many CI VMs: run the daemon directly. runuser drops to the munge user without a PAM
    # session or a password (unlike su on some images).
    runuser -u "$user" -- munged "${force[@]}" --socket="$MUNGE_SOCKET" \
        || die "munged failed to start (see /var/log/munge/munged.log)"
    touch "$STATE/munged.ours"   # remember that we started it, so `stop` stops only ours
    local i
    for i in $(seq 1 50); do munge_works && return; sleep 0.1; done
    die "munged started but 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
}

stop_munge() {
    [[ -f $STATE/munged.ours ]] || return 0
    if munge_works; then
        # munged -s stops the daemon bound to the socket; run it as the socket's owner.
        local user
        user=$(stat -c %U /run/munge 2>/dev/null || echo root)
        runuser -u "$user" -- munged -s --socket="$MUNGE_SOCKET" >/dev/null 2>&1 \
            || { [[ -f /run/munge/munged.pid ]] && kill "$(cat /run/munge/munged.pid)" 2>/dev/null; } || true
    fi
    rm -f "$STATE/munged.ours"
    say "munged stopped"
}

# --- slurm.conf --------------------------------------------------------------------------------------
write_conf() {
    local host node_line
    # The node name must be what slurmd thinks its own name is: `hostname -s`. slurmd -C prints the real
    # topology and memory of this machine in slurm.conf syntax ("NodeName=vm CPUs=2 ... RealMemory=24105").
    host=$(hostname -s)
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || die "unexpected 'slurmd -C' output: $node_line"
    # NodeAddr/ControlAddr 127.0.0.1: the daemons talk over loopback whatever the host name resolves to
    # (in VMs the hostname is often missing from DNS or mapped to an unreachable address).
    mkdir -p "$STATE/ctld" "$STATE/spool" "$LOG"
    cat >"$CONF" <<EOF
# Generated by Scripts/slurm/local-cluster.sh: a throwaway single-node cluster on this host.
ClusterName=stablesam-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: linuxproc finds a job's processes by walking /proc parent links; task/none binds nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# Cores are the consumable resource, memory is not (no memory limits to enforce without cgroups), so
# --cpus-per-task=1 tasks run side by side up to the node's CPU count.
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A node that was DOWN (e.g. after a stop/start) returns to service as soon as slurmd registers.
ReturnToService=2
# Short timeouts: a stopped daemon should not keep the test waiting for minutes.
SlurmdTimeout=60
KillWait=10
MinJobAge=600
MailProg=/bin/true
$node_line NodeAddr=127.0.0.1 NodeHostname=$host State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

# --- daemons -----------------------------------------------------------------------------------------
start_slurm() {
    export SLURM_CONF=$CONF
    if ! pid_alive "$STATE/slurmctld.pid"; then
        # -c: a clean start. The cluster is throwaway; jobs a killed test left in the saved state must not
        # come back and run again.
        slurmctld -f "$CONF" -c || die "slurmctld failed to start (see $LOG/slurmctld.log)"
    fi
    if ! pid_alive "$STATE/slurmd.pid"; then
        slurmd -f "$CONF" || die "slurmd failed to start (see $LOG/slurmd.log)"
    fi
    local deadline=$((SECONDS + START_TIMEOUT)) state=""
    while ((SECONDS < deadline)); do
        state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)
        case $state in
            idle|mixed|allocated) say "node $(hostname -s) is $state; export SLURM_CONF=$CONF"; return ;;
            down*|drain*)
                # A node left DOWN by an earlier run (e.g. "Not responding") and now registered again.
                scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    {
        echo "local-cluster: error: node not idle after ${START_TIMEOUT}s (last state: '${state:-no answer from slurmctld}')"
        echo "  see $LOG/slurmctld.log and $LOG/slurmd.log (and /var/log/munge/munged.log); last lines:"
        tail -n 5 "$LOG/slurmctld.log" "$LOG/slurmd.log" 2>/dev/null | sed 's/^/    /'
    } >&2
    exit 1
}

stop_daemon() {   # name pidfile
    local pidfile=$2 pid i
    pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        say "$1 (pid $pid) did not stop in 10s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    say "$1 stopped"
}

cmd_start() {
    mkdir -p "$STATE"
    ensure_installed
    [[ $(id -u) -eq 0 ]] || skip "the local cluster runs its daemons as root (SlurmUser=root, munged setup); run as root"
    start_munge
    # Rewrite the config only when the daemons are down, so `start` twice keeps a running cluster as is.
    if ! pid_alive "$STATE/slurmctld.pid" && ! pid_alive "$STATE/slurmd.pid"; then
        write_conf
    fi
    start_slurm
}

cmd_stop() {
    [[ -d $STATE ]] || { say "not running (no $STATE)"; return 0; }
    if [[ -f $CONF ]]; then
        # Cancel leftover jobs first and give them up to KillWait to end, so that their processes do
        # not outlive the daemons.
        if pid_alive "$STATE/slurmctld.pid" && SLURM_CONF=$CONF scancel --quiet --user=root 2>/dev/null; then
            local _
            for _ in $(seq 1 30); do
                [[ -z $(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
    fi
    stop_daemon slurmd "$STATE/slurmd.pid"
    stop_daemon slurmctld "$STATE/slurmctld.pid"
    stop_munge
}

cmd_status() {
    local rc=0
    pid_alive "$STATE/slurmctld.pid" && echo "slurmctld: running (pid $(cat "$STATE/slurmctld.pid"))" || { echo "slurmctld: stopped"; rc=3; }
    pid_alive "$STATE/slurmd.pid" && echo "slurmd: running (pid $(cat "$STATE/slurmd.pid"))" || { echo "slurmd: stopped"; rc=3; }
    munge_works && echo "munged: running ($MUNGE_SOCKET)" || { echo "munged: not answering"; rc=3; }
    if [[ $rc -eq 0 ]]; then
        SLURM_CONF=$CONF sinfo -N -o '%N %T %c %m %P' || rc=3
    fi
    echo "SLURM_CONF=$CONF; logs in $LOG"
    return $rc
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
