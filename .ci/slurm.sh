# A one-node Slurm cluster on this machine, for the sweep's Slurm test
# (tests/it/sweep.rs, run when V2G_SLURM=1). Sourced by .ci/run; by hand:
#
#   source .ci/slurm.sh && slurm_up     # then SLURM_CONF and V2G_SLURM=1 are exported
#   cargo test --test it -- --ignored slurm     # the Slurm test is #[ignore]d otherwise
#   slurm_down
#
# Needs root. Installs slurm-wlm and munge from the distribution's packages when sbatch
# is missing. Everything else lives in one temporary folder: a private munge key and
# socket, slurm.conf (controller and node on localhost, no cgroups, no accounting),
# state, spool and logs, so the machine's own munge and Slurm configuration are left
# alone. slurm_down stops the daemons and removes the folder.

slurm_up() {
    if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null \
        || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge
    fi
    V2G_SLURM_DIR=$(mktemp -d /tmp/v2g-slurm.XXXXXX)
    export V2G_SLURM_DIR
    local d=$V2G_SLURM_DIR
    chmod 755 "$d"
    mkdir -p "$d/state" "$d/spool" "$d/munge"
    chmod 700 "$d/munge"

    # munge: a fresh key, a private socket.
    dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$d/munge/munge.key"
    munged --force --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
        --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" \
        --seed-file="$d/munge/munged.seed"

    # The node as slurmd sees it: CPUs, sockets, cores, threads, RealMemory.
    local host node
    host=$(hostname -s)
    node=$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
    cat >"$d/slurm.conf" <<EOF
ClusterName=v2gci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${V2G_SLURMCTLD_PORT:-6817}
SlurmdPort=${V2G_SLURMD_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$d/slurm.conf
    slurmctld -i
    slurmd
    # Wait until the node takes jobs.
    local i
    for i in $(seq 1 60); do
        if sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle'; then
            export V2G_SLURM=1
            echo "slurm: one-node cluster up ($host: $node)"
            return 0
        fi
        sleep 1
    done
    echo "slurm: the node did not become idle; sinfo says:" >&2
    sinfo -N -l >&2 || true
    tail -n 20 "$d/slurmctld.log" "$d/slurmd.log" >&2 || true
    return 1
}

slurm_down() {
    local d=${V2G_SLURM_DIR:-}
    [ -n "$d" ] && [ -d "$d" ] || return 0
    # Jobs of this cluster only (SLURM_CONF is its own).
    if [ -n "${SLURM_CONF:-}" ]; then
        scancel --full -u "$(id -un)" 2>/dev/null || true
    fi
    local f pid
    for f in slurmd.pid slurmctld.pid munge/munged.pid; do
        if [ -f "$d/$f" ]; then
            pid=$(cat "$d/$f")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 20); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.5
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$d"
    unset V2G_SLURM_DIR SLURM_CONF V2G_SLURM
    return 0
}
