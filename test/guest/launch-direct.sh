#!/usr/bin/env bash
# Boots the test guest directly with QEMU (i440fx, TCG, 128 MiB), serial console on stdout.
# The boot disk is a throw-away snapshot; the config drive, if given, is a second virtio disk.
# Usage: test/guest/launch-direct.sh IMAGE [CONFIG_DRIVE_ISO] [extra qemu args...]
# e.g.  test/guest/launch-direct.sh test/.cache/guest/novaless-test-guest.qcow2 cd.iso -qmp unix:/tmp/q.sock,server=on,wait=off
set -euo pipefail

if (($# < 1)); then
  echo "Usage: $0 IMAGE [CONFIG_DRIVE_ISO] [extra qemu args...]" >&2
  exit 2
fi
image=$1
shift
config_drive_args=()
if (($# > 0)) && [[ $1 != -* ]]; then
  config_drive_args=(-drive "file=$1,format=raw,if=virtio,readonly=on")
  shift
fi

exec qemu-system-x86_64 \
  -machine pc -accel tcg -m 128 -smp 1 \
  -nographic -serial stdio -monitor none -nodefaults -vga none \
  -drive "file=$image,format=qcow2,if=virtio,snapshot=on" \
  "${config_drive_args[@]}" \
  -net none \
  "$@"
