#!/usr/bin/env bash
# Builds and caches the two test lanes under .cache/ (ignored by git).
#   min:     Home Assistant 2025.4.4 (pytest-homeassistant-custom-component 0.13.236), Python 3.13.0 (pyenv)
#   current: newest Home Assistant (0.13.375), Python >= 3.14.2: the host's if it has one,
#            else a Debian sid root file system run with chroot.
# Each venv is rebuilt only when its pins (the requirement files and this script) change.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache"
MIN_PIN="pytest-homeassistant-custom-component==0.13.236"
CURRENT_PIN="pytest-homeassistant-custom-component==0.13.375"
SID_PACKAGES="python3.14,python3.14-venv,ca-certificates,mosquitto,mosquitto-clients,git,curl"

pins_hash() { # what a lane's venv depends on
  cat "$ROOT/requirements_test.txt" "$ROOT/requirements_lint.txt" "$ROOT/scripts/lib/lanes.sh" | sha256sum | cut -c1-16
}

log() { printf '[lanes] %s\n' "$*" >&2; }

min_python() {
  local py
  if command -v pyenv >/dev/null 2>&1 && [ -x "$(pyenv root)/versions/3.13.0/bin/python" ]; then
    echo "$(pyenv root)/versions/3.13.0/bin/python"; return
  fi
  for py in python3.13 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then
      command -v "$py"; return
    fi
  done
  log "no Python 3.13 found (pyenv 3.13.0 or python3.13)"; return 1
}

# Prints the path of a host Python >= 3.14.2, or nothing.
host_current_python() {
  local py
  for py in python3.14 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 14, 2))' 2>/dev/null; then
      command -v "$py"; return
    fi
  done
}

ensure_venv() { # python venv-dir pin
  local py=$1 venv=$2 pin=$3 want
  want="$(pins_hash)"
  if [ -f "$venv/.pins" ] && [ "$(cat "$venv/.pins")" = "$want" ]; then return; fi
  log "building venv $venv ($pin)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "$pin" -r "$ROOT/requirements_test.txt" -r "$ROOT/requirements_lint.txt"
  echo "$want" > "$venv/.pins"
}

ensure_min_lane() { ensure_venv "$(min_python)" "$CACHE/venv-min" "$MIN_PIN"; }

SID="$CACHE/sid"

ensure_sid_rootfs() {
  local want="$SID_PACKAGES"
  if [ -f "$SID/.packages" ] && [ "$(cat "$SID/.packages")" = "$want" ]; then return; fi
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  log "debootstrap sid into $SID"
  rm -rf "$SID"
  mkdir -p "$SID"
  debootstrap --variant=minbase --include="$SID_PACKAGES" sid "$SID" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; return 1; }
  echo "$want" > "$SID/.packages"
}

SID_MOUNTS=()
sid_mount() { # bind /proc, /dev and the repository into the root file system
  cp /etc/resolv.conf "$SID/etc/resolv.conf"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$SID/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$SID/src"
  local m
  for m in proc dev src; do
    if ! mountpoint -q "$SID/$m"; then
      case $m in
        proc) mount -t proc proc "$SID/proc" ;;
        dev) mount --rbind /dev "$SID/dev"; mount --make-rslave "$SID/dev" ;;
        src) mount --bind "$ROOT" "$SID/src" ;;
      esac
      SID_MOUNTS+=("$SID/$m")
    fi
  done
}

sid_umount() {
  local i
  for ((i=${#SID_MOUNTS[@]}-1; i>=0; i--)); do
    umount -R "${SID_MOUNTS[$i]}" 2>/dev/null || umount -l "${SID_MOUNTS[$i]}" 2>/dev/null || true
  done
  SID_MOUNTS=()
}

sid_run() { # run a command inside the sid root, in /src
  chroot "$SID" /usr/bin/env -i HOME=/root PATH=/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    ${CI:+CI=$CI} /bin/bash -c "cd /src && $*"
}

ensure_current_lane_chroot() { # needs sid_mount done
  local want; want="$(pins_hash)"
  if [ -f "$SID/opt/venv/.pins" ] && [ "$(cat "$SID/opt/venv/.pins")" = "$want" ]; then return; fi
  log "building venv in sid ($CURRENT_PIN)"
  sid_run "rm -rf /opt/venv && python3.14 -m venv /opt/venv && /opt/venv/bin/pip install -q --upgrade pip && \
    /opt/venv/bin/pip install -q '$CURRENT_PIN' -r requirements_test.txt -r requirements_lint.txt && echo $want > /opt/venv/.pins"
}
