#!/usr/bin/env bash
# Builds the novaless test guest: a small whole-disk qcow2 image (MBR + one FAT partition with
# SYSLINUX, the Debian cloud kernel and a busybox initramfs) that boots by itself like cirros.
# The guest prints markers to the serial console, reads the config drive and powers off on the
# ACPI power button. See test/guest/README.md.
#
# Usage: test/guest/build-test-guest.sh [--force]
# Output: test/.cache/guest/novaless-test-guest.qcow2 (rebuilt only when missing or when this
# script changed; the script's sha256 is stored next to the image). No root, no loop devices,
# no mounts; the only network access is `apt-get download`.
set -euo pipefail

script_path=$(readlink -f "${BASH_SOURCE[0]}")
repo_root=$(cd "$(dirname "$script_path")/../.." && pwd)
cache_dir=${NOVALESS_GUEST_CACHE_DIR:-$repo_root/test/.cache/guest}
image=$cache_dir/novaless-test-guest.qcow2
image_stamp=$image.sha256
deb_dir=$cache_dir/debs

# Modules the guest loads (with their dependencies, resolved below): the ACPI power button first,
# then disks on virtio, IDE (i440fx PIIX) or virtio-scsi, and ISO9660/VFAT for the config drive.
guest_modules=(button evdev virtio_pci virtio_blk virtio_scsi ata_piix sd_mod sr_mod isofs vfat nls_cp437 nls_utf8 nls_ascii)
partition_start_sector=2048
partition_size_mib=63

script_sum=$(sha256sum "$script_path" | cut -d' ' -f1)
if [[ ${1:-} != --force && -f $image && -f $image_stamp && $(cat "$image_stamp") == "$script_sum" ]]; then
  echo "Test guest image is up to date: $image"
  exit 0
fi

missing=()
for tool in apt-get apt-cache dpkg-deb mkfs.fat mcopy syslinux cpio gzip qemu-img dd sha256sum; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "Missing tools: ${missing[*]}" >&2
  echo "Install them with: apt-get install -y qemu-utils mtools dosfstools syslinux cpio" >&2
  exit 1
fi

mkdir -p "$deb_dir"
work_dir=$(mktemp -d "$cache_dir/build.XXXXXX")
trap 'rm -rf "$work_dir"' EXIT

kernel_package=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }' || true)
if [[ -z $kernel_package ]]; then
  echo "Could not resolve the package behind linux-image-cloud-amd64 (is apt-get update done?)" >&2
  exit 1
fi

for package in "$kernel_package" busybox-static syslinux-common; do
  if compgen -G "$deb_dir/${package}_*.deb" >/dev/null; then
    echo "Using cached package $package"
  else
    echo "Downloading package $package"
    (cd "$deb_dir" && apt-get download -q "$package" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    compgen -G "$deb_dir/${package}_*.deb" >/dev/null || { echo "Download of $package failed" >&2; exit 1; }
  fi
  deb=$(ls -t "$deb_dir/${package}"_*.deb | head -n 1)
  echo "Extracting $(basename "$deb")"
  dpkg-deb -x "$deb" "$work_dir/packages"
done

packages=$work_dir/packages
kernel=$(ls "$packages"/boot/vmlinuz-* | head -n 1)
kernel_release=${kernel##*/vmlinuz-}
module_tree=$packages/lib/modules/$kernel_release
echo "Kernel: $kernel_release"

declare -A module_files=()
while IFS= read -r file; do
  name=${file##*/}
  name=${name%.ko}
  module_files[${name//-/_}]=$file
done < <(find "$module_tree/kernel" -name '*.ko')

module_file() {
  echo "${module_files[$1]:-}"
}

module_depends() {
  tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '
}

# Dependency-first order, as `insmod` (unlike modprobe) loads exactly one file.
declare -A module_seen=()
module_order=()
add_module() {
  local name=$1 file dependency
  [[ -n ${module_seen[$name]:-} ]] && return 0
  module_seen[$name]=1
  if grep -q "/$name.ko\$" "$module_tree/modules.builtin"; then
    return 0
  fi
  file=$(module_file "$name")
  if [[ -z $file ]]; then
    echo "Kernel module $name not found in $kernel_release" >&2
    exit 1
  fi
  for dependency in $(module_depends "$file"); do
    add_module "$dependency"
  done
  module_order+=("$name")
}
for name in "${guest_modules[@]}"; do
  add_module "$name"
done

echo "Building the initramfs (busybox-static, ${#module_order[@]} kernel modules)"
initramfs=$work_dir/initramfs
mkdir -p "$initramfs"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt/config,lib/modules,etc}
cp "$packages/bin/busybox" "$initramfs/bin/busybox"
ln -s busybox "$initramfs/bin/sh"
for name in "${module_order[@]}"; do
  cp "$(module_file "$name")" "$initramfs/lib/modules/"
  echo "$name" >>"$initramfs/lib/modules/load-order"
done

cat >"$initramfs/init" <<'INIT'
#!/bin/sh
# PID 1 of the novaless test guest. Prints markers to the serial console, reads the config drive,
# then waits for the ACPI power button and powers off.
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# Keep kernel messages off the console so the markers below stay on lines of their own.
echo 1 >/proc/sys/kernel/printk
echo NOVALESS-GUEST-BOOTED

# The ACPI power button is an input device that reports nothing but presses, so any event read
# from it means "power off" (QMP system_powerdown presses it).
watch_power_button() {
  found=no
  for event in /sys/class/input/event*; do
    [ "$(cat "$event/device/name" 2>/dev/null)" = "Power Button" ] || continue
    found=yes
    (
      dd if="/dev/input/${event##*/}" of=/dev/null bs=24 count=1 2>/dev/null
      echo NOVALESS-POWERING-OFF
      poweroff -f
    ) &
  done
  [ "$found" = yes ] || echo "novaless-guest: no ACPI power button found"
}

# The power button modules come first so that a powerdown request is honoured as early as possible.
while read -r module; do
  insmod "/lib/modules/$module.ko" || echo "novaless-guest: could not load $module"
  [ "$module" = evdev ] && watch_power_button
done </lib/modules/load-order

label_at() {
  dd if="$1" bs=1 skip="$2" count=8 2>/dev/null
}

is_config_label() {
  [ "$1" = config-2 ] || [ "$1" = CONFIG-2 ]
}

uptime_seconds() {
  read -r uptime _ </proc/uptime
  echo "${uptime%.*}"
}

# Disks and CD-ROMs show up asynchronously after insmod: poll for a few seconds, reading the
# labels of each new whole disk once (forks are slow under TCG). Prints "<device> <fstype>".
find_config_drive() {
  checked=" "
  deadline=$(($(uptime_seconds) + 6))
  while :; do
    for device in /dev/sr[0-9] /dev/vd[a-z] /dev/sd[a-z] /dev/hd[a-z] /dev/xvd[a-z]; do
      [ -b "$device" ] || continue
      case "$checked" in *" $device "*) continue ;; esac
      # ISO9660 volume id: primary volume descriptor at 32768, id at +40.
      # A read error (no medium yet) leaves the device for the next round.
      iso_label=$(label_at "$device" 32808) || continue
      checked="$checked$device "
      if is_config_label "$iso_label"; then
        echo "$device iso9660"
        return 0
      fi
      # FAT12/16 and FAT32 volume labels.
      if is_config_label "$(label_at "$device" 43)" || is_config_label "$(label_at "$device" 71)"; then
        echo "$device vfat"
        return 0
      fi
    done
    [ "$(uptime_seconds)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

json_string() {
  grep -o "\"$1\": *\"[^\"]*\"" "$2" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'
}

config_drive=$(find_config_drive) || config_drive=

hostname=novaless-guest
if [ -n "$config_drive" ]; then
  set -- $config_drive
  echo "NOVALESS-CONFIG-DRIVE $1"
  if mount -t "$2" -o ro "$1" /mnt/config; then
    meta_data=/mnt/config/openstack/latest/meta_data.json
    if [ -f "$meta_data" ]; then
      echo "NOVALESS-INSTANCE-UUID $(json_string uuid "$meta_data")"
      config_hostname=$(json_string hostname "$meta_data")
      echo "NOVALESS-HOSTNAME $config_hostname"
      [ -n "$config_hostname" ] && hostname=$config_hostname
    else
      echo "NOVALESS-NO-META-DATA"
    fi
    umount /mnt/config
  else
    echo "NOVALESS-CONFIG-DRIVE-UNREADABLE"
  fi
else
  echo NOVALESS-NO-CONFIG-DRIVE
fi
hostname "$hostname"
echo NOVALESS-GUEST-READY

while :; do
  sleep 3600
done
INIT
chmod 755 "$initramfs/init"

(cd "$initramfs" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -n -9 >"$work_dir/initrd.gz"

cat >"$work_dir/syslinux.cfg" <<'CFG'
SERIAL 0 115200
DEFAULT novaless
PROMPT 0
TIMEOUT 0
LABEL novaless
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0,115200
CFG

echo "Building the FAT partition with SYSLINUX"
partition=$work_dir/partition.img
partition_sectors=$((partition_size_mib * 2048))
mkfs.fat -C -F 16 -n NOVALESS -h "$partition_start_sector" "$partition" $((partition_size_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
cp "$kernel" "$work_dir/vmlinuz"
mcopy -i "$partition" "$work_dir/vmlinuz" "$work_dir/initrd.gz" "$work_dir/syslinux.cfg" ::/
syslinux --install "$partition"

# Little-endian 32-bit value as printf escapes.
le32() {
  printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

# CHS triple (255 heads, 63 sectors) of an LBA, as printf escapes; capped like every tool does.
chs() {
  local lba=$1 cylinder head sector
  cylinder=$((lba / (255 * 63)))
  head=$(((lba / 63) % 255))
  sector=$((lba % 63 + 1))
  if ((cylinder > 1023)); then cylinder=1023 head=254 sector=63; fi
  printf '\\x%02x\\x%02x\\x%02x' "$head" $(((sector & 63) | ((cylinder >> 2) & 192))) $((cylinder & 255))
}

echo "Writing the MBR (syslinux mbr.bin and one bootable FAT16 partition)"
header=$work_dir/header.img
dd if=/dev/zero of="$header" bs=512 count="$partition_start_sector" status=none
dd if="$packages/usr/lib/syslinux/mbr/mbr.bin" of="$header" conv=notrunc status=none
partition_end=$((partition_start_sector + partition_sectors - 1))
# Disk signature, then the partition entry: active, CHS start, type 0x0e (FAT16 LBA), CHS end,
# LBA start, sector count; then the boot signature.
printf "$(le32 0x4e4f5641)\\x00\\x00\\x80$(chs "$partition_start_sector")\\x0e$(chs "$partition_end")$(le32 "$partition_start_sector")$(le32 "$partition_sectors")" |
  dd of="$header" bs=1 seek=440 conv=notrunc status=none
printf '\x55\xaa' | dd of="$header" bs=1 seek=510 conv=notrunc status=none

echo "Converting to qcow2"
cat "$header" "$partition" >"$work_dir/disk.raw"
qemu-img convert -f raw -O qcow2 "$work_dir/disk.raw" "$work_dir/disk.qcow2"
mv "$work_dir/disk.qcow2" "$image"
echo "$script_sum" >"$image_stamp"
echo "Test guest image built: $image ($(du -h "$image" | cut -f1))"
