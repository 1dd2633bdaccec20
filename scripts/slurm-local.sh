#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the sweep tests: installs Debian's slurm-wlm and munge when missing,
# writes a slurm.conf whose only node is localhost, starts munged, slurmctld and slurmd, and waits until sinfo
# answers. Idempotent: a cluster that already answers is left alone. Needs root (or sudo) to install and start.
#   scripts/slurm-local.sh          start (or check) the cluster
#   scripts/slurm-local.sh stop     stop the daemons this script started
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "slurm-local: needs root or passwordless sudo to install and start slurm" >&2; exit 1
  fi
fi
CONF=/etc/slurm/slurm.conf
STATE=/var/lib/musicgen-ti-slurm

if [ "${1:-}" = stop ]; then
  for pidfile in "$STATE"/slurmd.pid "$STATE"/slurmctld.pid "$STATE"/munged.pid; do
    [ -f "$pidfile" ] && $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  exit 0
fi

if sinfo -h -o %t 2>/dev/null | grep -qxE 'idle|mix|alloc'; then
  echo "slurm-local: cluster already up"; sinfo; exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  echo "slurm-local: installing slurm-wlm and munge" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge >/dev/null
fi

$SUDO mkdir -p "$STATE" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/lib/munge /var/log/munge /etc/munge
# munged refuses a key or folders that others can read or write, and runs as root here: root owns them
if [ ! -s /etc/munge/munge.key ]; then $SUDO mungekey --create --keyfile=/etc/munge/munge.key; fi
$SUDO chown -R root:root /etc/munge /run/munge /var/lib/munge /var/log/munge
$SUDO chmod 0700 /etc/munge /var/lib/munge /var/log/munge
$SUDO chmod 0755 /run/munge
$SUDO chmod 0400 /etc/munge/munge.key
# --force: munged would rather not run as root, which a one-node test cluster does not mind
pgrep -x munged >/dev/null || $SUDO munged --force --pid-file="$STATE/munged.pid"

host=$(hostname -s)
cpus=$(nproc)
# slurmd refuses a node that claims more memory than it has: leave it a margin
mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 9 / 10 ))
$SUDO tee "$CONF" >/dev/null <<EOF
# written by musicgen-ti scripts/slurm-local.sh: one node, localhost, no accounting database
ClusterName=musicgen-ti-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# containers rarely give slurmd a cgroup tree of its own: track job processes by /proc
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
# cgroup.conf is read even with proctrack/linuxproc by some builds; keep it harmless
[ -f /etc/slurm/cgroup.conf ] || echo "CgroupPlugin=autodetect" | $SUDO tee /etc/slurm/cgroup.conf >/dev/null

pgrep -x slurmctld >/dev/null || $SUDO slurmctld
pgrep -x slurmd >/dev/null || $SUDO slurmd
for _ in $(seq 1 30); do
  state=$(sinfo -h -o %t 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mix|alloc) echo "slurm-local: up"; sinfo; exit 0 ;;
    down*|drain*) $SUDO scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
  esac
  sleep 1
done
echo "slurm-local: the node did not come up (sinfo: ${state:-no answer}); see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1
