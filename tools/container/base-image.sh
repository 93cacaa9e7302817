#!/usr/bin/env bash
# Make a Debian 12 (bookworm) base image from Debian's packages with debootstrap, for hosts that
# cannot pull debian:bookworm-slim from a registry. Usage: base-image.sh TAG
set -euo pipefail
tag=${1:?usage: base-image.sh TAG}
engine=${CONTAINER:-podman}
if $engine image exists "$tag" 2>/dev/null; then
  echo "$tag exists"
  exit 0
fi
# The mirror apt already uses on this host.
mirror=$( { grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ \
  2>/dev/null || true; } | head -n1 | awk '{print $2}')
# What debian:bookworm-slim leaves out: apt's lists and caches, and (for later installs too) docs,
# man pages and translations.
slim() {
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb
  rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/usr/share/locale/*
  cat > "$1"/etc/dpkg/dpkg.cfg.d/slim <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
}
rootfs=$(mktemp -d /var/tmp/revaer-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}"
slim "$rootfs"
tar -C "$rootfs" -c . | $engine import - "$tag"
