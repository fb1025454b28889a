#!/usr/bin/env bash
# Installs everything quorum needs on a fresh Debian 12 machine (run as root):
# Debian packages for the lab (systemd-nspawn hosts), the reference etcd and etcdctl 3.4,
# then the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in debootstrap systemd-container etcd-client etcd-server zstd nftables openssh-client iproute2 openssl python3-etcd3gw; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# Debian's etcd-server package starts an etcd on 2379/2380 as a service; the lab and tests need those ports free.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then systemctl disable --now etcd || true; fi
pkill -x etcd 2>/dev/null || true
# The tests bind fixed loopback ports in 20000-40999; keep the kernel from handing those out as ephemeral
# source ports (the default ephemeral range starts at 32768), or a test can meet EADDRINUSE by chance.
if [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
  echo 20000-40999 > /proc/sys/net/ipv4/ip_local_reserved_ports || true
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
