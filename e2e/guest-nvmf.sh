#!/bin/sh
# Runs INSIDE the kernel-initiator QEMU guest (busybox sh): the Linux NVMe/TCP initiator
# against Panastor's target on the host. Env: NVMF_TARGET_ADDR, NVMF_PORT, NVMF_NQN, NVMF_OUT,
# and NVMF_DIGESTS=1 to connect with header and data digests.
set -eu
A=$NVMF_TARGET_ADDR P=$NVMF_PORT N=$NVMF_NQN
DIGESTS=""
[ "${NVMF_DIGESTS:-0}" = 1 ] && DIGESTS="--hdr-digest --data-digest"

nvmf_step discover
nvme discover -t tcp -a "$A" -s "$P" | tee "$NVMF_OUT/discover.txt"
grep -q "subnqn: *$N" "$NVMF_OUT/discover.txt"

nvmf_step connect
# shellcheck disable=SC2086
nvme connect -t tcp -a "$A" -s "$P" -n "$N" $DIGESTS
DEV=$(nvmf_wait_ns "$N" 30)
CTRL=${DEV%n1}
echo "namespace: $DEV controller: $CTRL"
dmesg | grep -i "nvme" | tail -5 > "$NVMF_OUT/connect-dmesg.txt" || true

nvmf_step identify
nvme id-ctrl "$CTRL" | tee "$NVMF_OUT/id-ctrl.txt" | grep -E "^(sn|mn|fr|mdts|cntlid|nn|subnqn|ioccsz) "
grep -q "^subnqn *: *$N" "$NVMF_OUT/id-ctrl.txt"
nvme id-ns "$DEV" | tee "$NVMF_OUT/id-ns.txt" | grep -E "^(nsze|ncap|nuse|nguid|lbaf)"
nvme smart-log "$CTRL" | tee "$NVMF_OUT/smart-log.txt" | head -8
nvme list | tee "$NVMF_OUT/nvme-list.txt"

if [ "${NVMF_LIGHT:-0}" = 1 ]; then
  # A short session for packet captures: a little IO both ways, then disconnect.
  nvmf_step light-io
  dd if=/dev/urandom of=/tmp/blob bs=64k count=32 2>/dev/null
  dd if=/tmp/blob of="$DEV" bs=64k oflag=direct 2>/dev/null
  dd if="$DEV" of=/tmp/back bs=64k count=32 iflag=direct 2>/dev/null
  cmp /tmp/blob /tmp/back
  nvme disconnect -n "$N"
  echo "guest-nvmf: light session done"
  exit 0
fi

nvmf_step filesystem
mkfs.ext4 -F -q "$DEV"
mkdir -p /mnt/nvme && mount "$DEV" /mnt/nvme
i=0
while [ $i -lt 8 ]; do
  dd if=/dev/urandom of=/mnt/nvme/file$i bs=64k count=$((4 + i * 8)) 2>/dev/null
  i=$((i + 1))
done
(cd /mnt/nvme && sha256sum file*) > /tmp/files.sha
umount /mnt/nvme
echo 3 > /proc/sys/vm/drop_caches
mount "$DEV" /mnt/nvme
(cd /mnt/nvme && sha256sum -c /tmp/files.sha)
umount /mnt/nvme
e2fsck -fn "$DEV"

nvmf_step fio-verify
for bs in 4k 16k 64k 128k; do
  fio --name=verify-$bs --filename="$DEV" --direct=1 --ioengine=libaio --rw=randwrite --bs=$bs \
      --iodepth=32 --size=32M --offset=64M --verify=crc32c --verify_fatal=1 --do_verify=1 \
      --eta=never --output="$NVMF_OUT/fio-$bs.txt"
  grep -E "err= *0" "$NVMF_OUT/fio-$bs.txt" > /dev/null
  echo "fio verify $bs: ok"
done

nvmf_step disconnect
nvme disconnect -n "$N"
if dmesg | grep -iE "nvme.*(error|fail|timeout|reset|invalid|I/O .* QID)"; then
  echo "the kernel log shows NVMe errors" >&2
  exit 1
fi
echo "guest-nvmf: all good"
