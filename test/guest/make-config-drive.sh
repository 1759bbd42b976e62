#!/usr/bin/env bash
# Makes a minimal OpenStack config drive (ISO9660, label config-2) for trying the test guest by hand.
# Usage: test/guest/make-config-drive.sh OUT.iso UUID HOSTNAME
set -euo pipefail

if (($# != 3)); then
  echo "Usage: $0 OUT.iso UUID HOSTNAME" >&2
  exit 2
fi
out=$1 uuid=$2 hostname=$3

content=$(mktemp -d)
trap 'rm -rf "$content"' EXIT
mkdir -p "$content/openstack/latest"
printf '{"uuid": "%s", "name": "%s", "hostname": "%s", "launch_index": 0, "availability_zone": "nova", "meta": {}}\n' \
  "$uuid" "$hostname" "$hostname" >"$content/openstack/latest/meta_data.json"
genisoimage -quiet -o "$out" -V config-2 -r -J "$content"
