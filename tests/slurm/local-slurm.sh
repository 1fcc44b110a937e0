#!/bin/sh
# A single-node Slurm on localhost for lotto's Slurm executor tests.
#   local-slurm.sh install     apt-get the Debian packages (root; ~8 s)
#   local-slurm.sh up DIR      write DIR/slurm.conf, start slurmctld + slurmd
#   local-slurm.sh down DIR    stop both daemons
# After `up`, export SLURM_CONF=DIR/slurm.conf for sbatch/squeue/scancel.
# Settings and pitfalls: see docs/slurm.md ("What the local tests prove").
set -eu
cmd=${1:-}
case "$cmd" in
install)
    if command -v sbatch >/dev/null && command -v slurmctld >/dev/null; then exit 0; fi
    # Package scripts must not try to start services (no systemd here).
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client >/dev/null
    ;;
up)
    dir=$(realpath "$2")
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    host=$(hostname -s)
    cpus=$(nproc)
    cat > "$dir/slurm.conf" <<CONF
ClusterName=lottotest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
MinJobAge=3600
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    i=0
    until [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ]; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "slurm did not become idle; logs in $dir/log" >&2
            sinfo >&2 || true
            exit 1
        fi
        sleep 0.1
    done
    ;;
down)
    dir=$(realpath "$2")
    for p in slurmd slurmctld; do
        if [ -f "$dir/$p.pid" ]; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; fi
    done
    i=0
    while [ $i -lt 50 ] && { pgrep -f "slurmctld -f $dir" >/dev/null || pgrep -f "slurmd -f $dir" >/dev/null; }; do
        i=$((i + 1)); sleep 0.1
    done
    ;;
*)
    echo "usage: $0 install | up DIR | down DIR" >&2
    exit 2
    ;;
esac
