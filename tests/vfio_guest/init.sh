#!/bin/sh
# tests/vfio_guest/init.sh: /init of the guest initramfs (busybox sh).
# Owns: mounting the pseudo file systems, loading the VFIO modules in the order build_image.sh
# wrote, reserving hugepages, running /bin/guest_test, and powering off. Every line the
# harness reads comes from guest_test; this script only adds "INIT:" lines.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs tmpfs /dev
mkdir -p /dev/hugepages
mount -t hugetlbfs hugetlbfs /dev/hugepages 2>/dev/null
echo "INIT: kernel $(cat /proc/sys/kernel/osrelease)"
for m in $(cat /lib/modules/load_order); do
    if insmod "/lib/modules/$m" 2>/tmp/insmod.err; then
        echo "INIT: insmod $m ok"
    else
        echo "INIT: insmod $m failed: $(cat /tmp/insmod.err)"
    fi
done
echo 16 > /proc/sys/vm/nr_hugepages
echo "INIT: hugepages $(cat /proc/sys/vm/nr_hugepages)"
/bin/guest_test
echo "INIT: guest_test exit $?"
# Give the console a moment to drain before the machine goes away.
sleep 1
poweroff -f
