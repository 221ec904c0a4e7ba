# Sourced by the deploy scripts: podman settings that work on hosts with a
# low open-files hard limit and hybrid cgroups, kept in a directory of our
# own so the host's container configuration is left alone.
#   IMUNPACK_PODMAN_DIR   where the configuration lives (default /var/tmp/imunpack-podman)
# Also: ensure_base_image, which makes debian:bookworm-slim locally with
# debootstrap when no registry is reachable.

podman_dir=${IMUNPACK_PODMAN_DIR:-/var/tmp/imunpack-podman}
mkdir -p "$podman_dir"
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$podman_dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$podman_dir/containers.conf
if [ ! -f "$podman_dir/storage.conf" ]; then
  cat >"$podman_dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$podman_dir/storage"
runroot = "$podman_dir/run"
CONF
fi
export CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf

# debian:bookworm-slim, made locally from this machine's own Debian mirror
# (read from its apt sources) when the image is not already present.
ensure_base_image() {
  local image=docker.io/library/debian:bookworm-slim
  podman image exists "$image" && return 0
  local mirror
  # (either file may be missing; no match is handled below)
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -oE '^(URIs:|deb) +[^ ]+' | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  [ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; return 1; }
  local rootfs
  rootfs=$(mktemp -d)
  echo "making $image with debootstrap from $mirror" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null || return 1
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" -c . | podman import - "$image" >/dev/null 2>&1
  local rc=$?
  rm -rf "$rootfs"
  [ $rc -eq 0 ] || echo "podman import of $image failed" >&2
  return $rc
}
