#!/bin/sh
# tests/vfio_guest/init.sh: /init of the guest initramfs (busybox sh).
# Owns: mounting the pseudo file systems, loading the VFIO modules in the order build_image.sh
# wrote, reserving hugepages, running /bin/guest_test and /bin/devmem_test, then (when the image
# has it) /bin/errors_test on the VFIO rows of docs/errors.md, then (when the image has it)
# /bin/dpdk_guest_test, and powering off. The harness reads guest_test's and devmem_test's
# lines, errors_test's lines prefixed "ERRORS: ", dpdk_guest_test's "CHECK" lines, and "INIT:"
# lines.
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
# xmem_hp_node=N on the kernel command line: N hugepages of 2 MiB on every node (per-node
# sysfs, the NUMA guest); else 16 in all.
HP_NODE=$(sed -n 's/.*xmem_hp_node=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$HP_NODE" ]; then
    for f in /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages; do
        echo "$HP_NODE" > "$f"
        echo "INIT: hugepages $(cat "$f") on $(echo "$f" | sed 's|.*/\(node[0-9]*\)/.*|\1|')"
    done
else
    echo 16 > /proc/sys/vm/nr_hugepages
fi
echo "INIT: hugepages $(cat /proc/sys/vm/nr_hugepages)"
/bin/guest_test
echo "INIT: guest_test exit $?"
# The multi-process step (a domain in /dev/shm) in a fresh process.
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
/bin/guest_test --mp
echo "INIT: guest_test --mp exit $?"
if [ -x /bin/devmem_test ]; then
    /bin/devmem_test
    echo "INIT: devmem_test exit $?"
    # A kernel with iommufd has type1 too: the device-memory steps run on both.
    if [ "${XMEM_VFIO_BACKEND:-}" = iommufd ]; then
        XMEM_VFIO_BACKEND=type1 /bin/devmem_test
        echo "INIT: devmem_test (type1) exit $?"
    fi
fi
if [ -x /bin/errors_test ]; then
    /bin/errors_test --doc=/xmem/errors.md --header=/xmem/xmem.h --header=/xmem/xmem_pool.h \
        --header=/xmem/xmem_dma.h --header=/xmem/xmem_vfio.h --header=/xmem/xmem_numa.h \
        --header=/xmem/xmem_devmem.h --header=/xmem/xmem_shared.h \
        --header=/xmem/xmem_testdev.h --part=vfio > /tmp/errors.out 2>&1
    rc=$?
    sed 's/^/ERRORS: /' /tmp/errors.out
    echo "ERRORS EXIT: $rc"
fi
# libxmem_dpdk's DMA subscribers through DPDK's VFIO container (when the image has it).
if [ -x /bin/dpdk_guest_test ]; then
    /bin/dpdk_guest_test
    echo "INIT: dpdk_guest_test exit $?"
fi
# Give the console a moment to drain before the machine goes away.
sleep 1
poweroff -f
