#!/usr/bin/env bash
# Builds the novaless test guest: a small whole-disk qcow2 image (MBR + one FAT partition with
# SYSLINUX, the Debian cloud kernel and a busybox initramfs) that boots by itself like cirros.
# The guest prints markers to the serial console, reads the config drive, configures its NICs
# from network_data.json (DHCP or static), runs an SSH server (dropbear, user `cirros`, keys from
# meta_data.json) and powers off on the ACPI power button. See test/guest/README.md.
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
# then disks on virtio, IDE (i440fx PIIX) or virtio-scsi, ISO9660/VFAT for the config drive, and
# virtio-net for the NICs.
guest_modules=(button evdev virtio_pci virtio_blk virtio_scsi ata_piix sd_mod sr_mod isofs vfat nls_cp437 nls_utf8 nls_ascii virtio_net)
# The SSH server and the shared libraries it and dropbearkey load (with the dynamic loader):
# Debian's dynamically linked dropbear, unpacked like the other packages, never installed.
ssh_packages=(dropbear-bin libc6 libcrypt1 libtomcrypt1 libtommath1 libgmp10 zlib1g)
ssh_libraries=(libc.so.6 libcrypt.so.1 libtomcrypt.so.1 libtommath.so.1 libgmp.so.10 libz.so.1)
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

# Downloads a package into the cache once; extracts it into $2.
extract_package() {
  local package=$1 target=$2 deb
  if compgen -G "$deb_dir/${package}_*.deb" >/dev/null; then
    echo "Using cached package $package"
  else
    echo "Downloading package $package"
    (cd "$deb_dir" && apt-get download -q "$package" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    compgen -G "$deb_dir/${package}_*.deb" >/dev/null || { echo "Download of $package failed" >&2; exit 1; }
  fi
  deb=$(ls -t "$deb_dir/${package}"_*.deb | head -n 1)
  echo "Extracting $(basename "$deb")"
  dpkg-deb -x "$deb" "$target"
}

for package in "$kernel_package" busybox-static syslinux-common; do
  extract_package "$package" "$work_dir/packages"
done
for package in "${ssh_packages[@]}"; do
  extract_package "$package" "$work_dir/ssh-packages"
done

packages=$work_dir/packages
ssh_root=$work_dir/ssh-packages
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

echo "Building the initramfs (busybox-static, dropbear, ${#module_order[@]} kernel modules)"
initramfs=$work_dir/initramfs
mkdir -p "$initramfs"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt/config,lib/modules,lib64,lib/x86_64-linux-gnu,etc/dropbear,run,tmp,var/log,home/cirros/.ssh,usr/share/udhcpc}
cp "$packages/bin/busybox" "$initramfs/bin/busybox"
ln -s busybox "$initramfs/bin/sh"

# dropbear and dropbearkey, with the libraries they load (cp -L: the files behind the soname links).
cp "$ssh_root/usr/sbin/dropbear" "$initramfs/usr/sbin/"
cp "$ssh_root/usr/bin/dropbearkey" "$initramfs/usr/bin/"
cp -L "$ssh_root/lib64/ld-linux-x86-64.so.2" "$initramfs/lib64/" 2>/dev/null || cp -L "$ssh_root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$initramfs/lib64/"
for library in "${ssh_libraries[@]}"; do
  file=$(find "$ssh_root/lib" "$ssh_root/usr/lib" -name "$library" | head -n 1)
  [[ -n $file ]] || { echo "Library $library not found in ${ssh_packages[*]}" >&2; exit 1; }
  cp -L "$file" "$initramfs/lib/x86_64-linux-gnu/"
done
# The login user (dropbear only lets in users whose shell getusershell() lists; "*": no
# password, so no shadow file is read), resolved by glibc from files only. Unlike CirrOS's
# cirros (which has sudo), this one is uid 0: busybox's ping needs a raw socket, and the
# network tests ping from inside the guests.
cat >"$initramfs/etc/passwd" <<'PASSWD'
root:*:0:0:root:/root:/bin/sh
cirros:*:0:0:cirros:/home/cirros:/bin/sh
PASSWD
printf 'root:x:0:\n' >"$initramfs/etc/group"
printf '/bin/sh\n' >"$initramfs/etc/shells"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$initramfs/etc/nsswitch.conf"

# udhcpc's hook: configures the NIC from the lease (address, netmask, router, MTU from option 26, DNS).
cat >"$initramfs/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    [ "$1" = bound ] && ip addr flush dev "$interface"
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    while route del default dev "$interface" 2>/dev/null; do :; done
    if [ -n "$staticroutes" ]; then
      # Option 121 (RFC 3442): when present it replaces the router option. Pairs of
      # destination/prefix and gateway, the default route among them (CirrOS's dhcpcd does this).
      set -- $staticroutes
      while [ $# -ge 2 ]; do
        ip route replace "$1" via "$2" dev "$interface"
        shift 2
      done
    elif [ -n "$router" ]; then
      set -- $router
      route add default gw "$1" dev "$interface"
    fi
    if [ -n "$dns" ]; then
      : >/etc/resolv.conf
      for server in $dns; do echo "nameserver $server" >>/etc/resolv.conf; done
    fi
    # udhcpc runs with its output discarded: the marker goes to the console itself.
    echo "GUEST-IP: $interface $ip" >/dev/console
    ;;
esac
exit 0
DHCP
chmod 755 "$initramfs/usr/share/udhcpc/default.script"
for name in "${module_order[@]}"; do
  cp "$(module_file "$name")" "$initramfs/lib/modules/"
  echo "$name" >>"$initramfs/lib/modules/load-order"
done

cat >"$initramfs/init" <<'INIT'
#!/bin/sh
# PID 1 of the novaless test guest. Prints markers to the serial console, reads the config drive,
# then runs a shell on the console and powers off when the ACPI power button is pressed.
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
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

# The first "key":value of a key in a piece of compact JSON (the value without its quotes).
json_value() {
  echo "$2" | grep -o "\"$1\":\"*[^\",}]*" | head -n 1 | sed 's/^"[^"]*":"*//'
}

# meta_data.json's public_keys ({"name":"ssh-ed25519 AAAA... comment",...}) as authorized_keys.
write_authorized_keys() {
  { tr -d '\n' <"$1"; echo; } | sed -n 's/.*"public_keys": *{\([^}]*\)}.*/\1/p' | sed 's/", *"/"\n"/g' |
    sed -n 's/^ *"[^"]*": *"\(.*\)" *$/\1/p' | sed 's/\\n$//' >/home/cirros/.ssh/authorized_keys
  chown -R 0:0 /home/cirros
  chmod 700 /home/cirros/.ssh
  chmod 600 /home/cirros/.ssh/authorized_keys
  echo "NOVALESS-SSH-KEYS $(grep -c . /home/cirros/.ssh/authorized_keys)"
}

# Configures each NIC from network_data.json (Nova's format, compact JSON as novaless writes it):
# its link is found by MAC; an ipv4_dhcp network starts udhcpc (in the background: the lease
# may come later), an ipv4 one sets the address, netmask and default route at once.
configure_network() {
  json=$(tr -d '\n\t ' <"$1")
  links=$(echo "$json" | sed -n 's/^{"links":\[\(.*\)\],"networks":\[.*/\1/p' | sed 's/},{/}\n{/g')
  networks=$(echo "$json" | sed -n 's/.*"networks":\[\(.*\)\],"services":\[[^]]*\]}$/\1/p' | sed 's/},{/}\n{/g' | grep '"link":')
  for nic in /sys/class/net/eth*; do
    [ -e "$nic" ] || continue
    interface=${nic##*/}
    mac=$(cat "$nic/address")
    link=$(echo "$links" | grep -i "\"ethernet_mac_address\":\"$mac\"" | head -n 1)
    [ -n "$link" ] || { echo "NOVALESS-NIC-UNKNOWN $interface $mac"; continue; }
    link_id=$(json_value id "$link")
    mtu=$(json_value mtu "$link")
    case "$mtu" in [0-9]*) ip link set "$interface" mtu "$mtu" ;; esac
    ip link set "$interface" up
    network=$(echo "$networks" | grep "\"link\":\"$link_id\"" | head -n 1)
    case "$(json_value type "$network")" in
      ipv4_dhcp)
        udhcpc -i "$interface" -b -t 30 -T 2 -A 3 -O mtu -O staticroutes -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
        ;;
      ipv4)
        address=$(json_value ip_address "$network")
        ifconfig "$interface" "$address" netmask "$(json_value netmask "$network")" up
        gateway=$(json_value gateway "$network")
        [ -n "$gateway" ] && route add default gw "$gateway" dev "$interface"
        echo "GUEST-IP: $interface $address"
        ;;
      *) echo "NOVALESS-NIC-UNCONFIGURED $interface $link_id" ;;
    esac
  done
}

start_ssh_server() {
  # ed25519 only: generating an RSA key takes far too long under TCG.
  dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
  dropbear -r /etc/dropbear/dropbear_ed25519_host_key -p 22 -s -P /run/dropbear.pid -E 2>>/var/log/dropbear.log &&
    echo NOVALESS-SSH-READY || echo NOVALESS-SSH-FAILED
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
      write_authorized_keys "$meta_data"
    else
      echo "NOVALESS-NO-META-DATA"
    fi
    network_data=/mnt/config/openstack/latest/network_data.json
    [ -f "$network_data" ] && configure_network "$network_data"
    umount /mnt/config
  else
    echo "NOVALESS-CONFIG-DRIVE-UNREADABLE"
  fi
else
  echo NOVALESS-NO-CONFIG-DRIVE
fi
hostname "$hostname"
ip link set lo up
start_ssh_server
echo NOVALESS-GUEST-READY

# A shell on the serial console (the console proxy's tests type into it), started again when it exits.
while :; do
  sh
  sleep 1
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
