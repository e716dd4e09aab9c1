#!/usr/bin/env python3
"""make_corpus.py - writes the seed corpus of tests/fuzz/api_fuzz.c.

    python3 tests/fuzz/make_corpus.py [out_dir]      (default tests/fuzz/corpus)

Each seed is a small program in the target's encoding: 5-byte instructions,
an opcode and four argument bytes (see api_fuzz.c; the opcode is taken
modulo the table of ops there, ORDER below must match it).  The named
scenarios cover each kind of call once; the random ones (fixed seed, so the
output is reproducible) mix them.  The seed-v2-* files use the ops that
XMEM_FUZZ_V2=1 enables (bad frees in every mode, double frees, stats/trim,
the failing DMA subscriber).  The seeds are deterministic: running the
script again rewrites the same files.
"""
import os
import random
import sys

# Index in api_fuzz.c's ops[] table.
ORDER = ["create", "destroy", "add", "add2", "remove", "alloc", "alloc2", "alloc3",
         "free", "free2", "free_bulk", "wild", "usable", "probe", "check",
         "checked", "trim", "lookup",
         # V2 (XMEM_FUZZ_V2=1); without it these opcodes decode modulo 18
         "bad_free", "bad_free2", "double_free", "stats_trim", "dma", "dma2"]
OP = {name: i for i, name in enumerate(ORDER)}


def ins(op, a=0, b=0, c=0, d=0):
    return bytes([OP[op], a & 0xff, b & 0xff, c & 0xff, d & 0xff])


def create(slot=0, variant=0):
    return ins("create", slot, variant)


def destroy(slot=0, variant=0):
    return ins("destroy", slot, variant)


def add(target=0, chunk=0, off=0, len_=15, table=1, ps2m=0, bad=0, va_mode=0, npages=0):
    """target 0/1 heap slot, 2 register, 3 bad heap; off and len in 256 KiB
    (len_ 15 = 4 MiB); table 0 none, 1 linear, 2 scattered, 3 holes."""
    a = target | (chunk << 2) | (0x80 if npages else 0)
    d = table | (ps2m << 2) | (bad << 3) | (va_mode << 6)
    return ins("add", a, off, len_, d)


def remove(idx=0, variant=0):
    return ins("remove", idx, variant)


SIZE = {"zero": 0, "small": 1, "class": 4, "large": 6, "huge": 7}
ALIGN = {"none": 0, "small": 4, "page": 5, "odd": 6, "huge": 7}
KIND = {"alloc": 0, "zalloc": 2, "bulk": 3}


def alloc(slot=0, kind="alloc", size="small", v=100, align="none", n=1):
    """v: the size value (low byte also picks the alignment); bulk: n blocks."""
    a = slot | (KIND[kind] << 1)
    b = SIZE[size] | (ALIGN[align] << 3)
    hi = (v >> 8) & 0xff
    if kind == "bulk":
        hi = (n - 1) % 40
    return ins("alloc", a, b, v & 0xff, hi)


def free(i=0):
    return ins("free", i & 0xff, i >> 8)


def free_bulk(k=4, pick=0, flags=0):
    return ins("free_bulk", k - 1, pick, flags)


def wild(kind, v=3, how=0):
    """kind: 0 stack, 1 malloc, 2 static, 3 gap, 4 unregistered chunk memory,
    5 translation-only, 6 interior of a large block, 7 freed (checked mode),
    8 interior of a small block (checked mode); how: 0 free, 1 free_bulk,
    2 usable_size."""
    return ins("wild", kind, v, how)


def usable(i=0):
    return ins("usable", i & 0xff, i >> 8)


def probe(a=1, b=2, c=3):
    return ins("probe", a, b, c)


def check():
    return ins("check")


def checked(on):
    return ins("checked", 1 if on else 0)


def trim(a=0):
    return ins("trim", a)


def lookup(slot=0, variant=0):
    return ins("lookup", slot, variant)


def bad_free(kind, b=0, how=0, d=0):
    """V2. kind: 0 interior of a small block, 2 span slack (b: bit 0 the heap
    slot, the rest picks a class; d: how many blocks to allocate first, and
    0x80 fill the span),
    3 a unit boundary inside a large block; how: 0 free, 1 free_bulk among
    live blocks, 2 usable_size."""
    return ins("bad_free", kind, b, how, d)


def double_free(i=0, again=1):
    """V2. Free a class block twice; again: allocate its size twice after."""
    return ins("double_free", i, again)


def stats_trim(slot=0, frees=3, remove=0):
    """V2. Free some blocks of the heap, stats, trim, stats; remove: then a
    chunk of it without live blocks must come out."""
    return ins("stats_trim", slot | remove << 1, frees)


DMA = {"toggle": 0, "arm": 1, "check": 3, "bad": 4, "remove": 5}
FAIL = {"eio": 0, "short": 1, "kth": 2, "off": 3}


def dma(action, b=0, c=0):
    """V2. toggle: subscribe / unsubscribe (b & 0x40: retry after disarming);
    arm: b = FAIL[...], c: k - 1 (kth) and 0x10 short for kth; remove: a
    record the device maps (b picks, c & 0x40 retry)."""
    return ins("dma", DMA[action], b, c)


def v2_scenarios():
    s = {}
    s["interior"] = [create(0), add(0, 0), alloc(0, size="small", v=200),
                     alloc(0, size="class", v=3000), alloc(0, "bulk", "small", 100, n=8),
                     bad_free(0, 0, 0, 0), bad_free(0, 1, 0, 5), bad_free(0, 2, 1, 8),
                     bad_free(0, 3, 2, 12), bad_free(1, 4, 1, 4), check(), stats_trim(0, 0)]
    # Class i of the classes whose size does not divide 4096 is b = 2 * i
    # (+1: heap slot 1): 48, 192, 320, 384, 448, 640, 768, 896, 1280, 1536,
    # 1792, 2560, 3072, 3584, ...; 0x80 in d fills the span.
    s["slack"] = [create(0), add(0, 0), bad_free(2, 0, 0, 20), bad_free(2, 2, 1, 0x80),
                  bad_free(2, 0, 2, 0), check()]
    s["slack2"] = [create(0), add(0, 0), bad_free(2, 4, 0, 0x80), bad_free(2, 6, 1, 0x81),
                   bad_free(2, 8, 0, 3), check()]
    s["slack3"] = [create(0), add(0, 1), bad_free(2, 10, 1, 0x80), bad_free(2, 12, 0, 0x85),
                   bad_free(2, 14, 2, 0x80), bad_free(2, 10, 0, 9), check()]
    s["slack4"] = [create(1), add(1, 2, table=1), checked(1)] + \
        [bad_free(2, 2 * i + 1, i % 2, 0x80 | i) for i in range(8, 14)] + [check(), checked(0),
                                                                       bad_free(2, 17, 0, 0)]
    # IOVA runs of 4 pages: spans shrink to 16 KiB (checked mode: one span).
    s["slack5"] = [create(0), add(0, 3, table=3), checked(1)] + \
        [bad_free(2, 2 * i, i % 3, 0x80 | 24 * (i % 2)) for i in range(2, 14)] + [check(), checked(0)]
    s["large_middle"] = [create(0), add(0, 0), alloc(0, size="large", v=40000),
                         alloc(0, size="large", v=9000), bad_free(3, 0, 0), bad_free(3, 1, 1, 2),
                         bad_free(3, 2, 2), check()]
    s["double_free"] = [create(0), add(0, 0), alloc(0, size="small", v=40),
                        alloc(0, size="class", v=700), alloc(0, size="small", v=40),
                        double_free(0, 1), alloc(0, size="small", v=40), check(), trim(0), check(),
                        free(0), free(0), stats_trim(0, 7), remove(0)]
    s["double_free_bulk"] = [create(0), add(0, 0), alloc(0, "bulk", "class", 1500, n=20),
                             double_free(3, 1), double_free(5, 0), free_bulk(16, 2),
                             alloc(0, "bulk", "class", 1500, n=30), checked(1), checked(0), check()]
    s["double_free_checked"] = [create(0), add(0, 0), checked(1), alloc(0, size="small", v=60),
                                alloc(0, size="class", v=2000), double_free(0), double_free(0),
                                check(), checked(0)]
    s["stats_trim"] = [create(0), create(1), add(0, 0), add(1, 1, table=2),
                       alloc(0, "bulk", "class", 900, n=30), alloc(1, "bulk", "small", 50, n=30),
                       alloc(0, size="large", v=100), stats_trim(0, 5), stats_trim(1, 7),
                       free_bulk(16, 1), stats_trim(0, 0), remove(0), check(),
                       free_bulk(16, 0), free_bulk(16, 0), stats_trim(1, 7, remove=1),
                       stats_trim(0, 7, remove=1), check()]
    s["dma_eio"] = [create(0), add(0, 0, table=1), add(0, 1, table=2, len_=3), add(2, 2, table=3),
                    dma("toggle"), dma("check"), dma("arm", FAIL["eio"]), remove(0), remove(1),
                    remove(2), dma("remove", 0, 0x40), dma("check"), dma("arm", FAIL["off"]),
                    remove(0), dma("check")]
    s["dma_short"] = [create(0), add(0, 0, table=3), add(2, 1, table=1, ps2m=1),
                      dma("toggle"), dma("arm", FAIL["short"]), dma("remove", 0),
                      dma("remove", 1, 0x40), dma("check")]
    s["dma_kth"] = [create(0), add(0, 0, table=2, len_=1), add(0, 1, table=3), dma("toggle"),
                    dma("arm", FAIL["kth"], 2), dma("remove", 0), dma("check"),
                    dma("arm", FAIL["kth"], 0x10 | 3), dma("remove", 1, 0x40), check()]
    s["dma_unsubscribe"] = [create(0), add(0, 0, table=1), add(2, 1, table=2), dma("toggle"),
                            dma("arm", FAIL["eio"]), dma("toggle", 0), dma("check"),
                            dma("toggle", 0x40), dma("check"), dma("toggle"), dma("bad")]
    s["dma_busy"] = [create(0), add(0, 0, table=1), dma("toggle"), alloc(0, size="class", v=500),
                     dma("arm", FAIL["eio"]), dma("remove", 0), free(0), dma("remove", 0, 0x40),
                     dma("check")]
    s["dma_late"] = [create(0), add(0, 0, table=3), add(2, 1, table=0), add(2, 2, va_mode=1, table=0),
                     dma("toggle"), dma("check"), add(0, 3, table=2), dma("check"),
                     dma("arm", FAIL["kth"], 1), remove(1), remove(0), dma("check")]
    return s


def scenarios():
    s = {}
    s["basic"] = [create(0), add(0, 0), alloc(0, size="small", v=40),
                  alloc(0, size="class", v=3000), alloc(0, size="large", v=2000),
                  usable(0), usable(1), usable(2), probe(), check(),
                  free(0), free(0), free(0), check(), remove(0), destroy(0)]
    s["zalloc"] = [create(0), add(0, 1), alloc(0, "zalloc", "small", 200),
                   alloc(0, "zalloc", "class", 9000), alloc(0, "zalloc", "large", 100), check()]
    s["bulk"] = [create(0), add(0, 0), alloc(0, "bulk", "class", 2000, n=32),
                 free_bulk(16, 3), free_bulk(16, 5, 0x55), check(),
                 alloc(0, "bulk", "small", 30, n=40), check()]
    s["bulk_large"] = [create(0), add(0, 0, len_=7), alloc(0, "bulk", "large", 60000, n=20),
                       check()]
    s["align"] = [create(0), add(0, 2), alloc(0, "alloc", "small", 64, "small"),
                  alloc(0, "alloc", "class", 5000 + 7, "small"),
                  alloc(0, "alloc", "small", 3, "page"), alloc(0, "alloc", "large", 9, "page"),
                  check()]
    s["bad_align"] = [create(0), add(0, 0), alloc(0, "alloc", "small", 50, "odd"),
                      alloc(0, "zalloc", "class", 60, "odd"), alloc(0, "alloc", "small", 1, "huge"),
                      check()]
    s["huge"] = [create(0), add(0, 0), alloc(0, "alloc", "huge", 0), alloc(0, "alloc", "huge", 1),
                 alloc(0, "alloc", "huge", 2), alloc(0, "bulk", "huge", 0, n=3),
                 alloc(0, "alloc", "zero", 0), alloc(0, "bulk", "zero", 0, n=2), check()]
    s["no_heap"] = [alloc(0), alloc(1, "zalloc"), alloc(0, "bulk", n=4), destroy(0, 6),
                    add(3, 0), add(0, 1), trim(2), lookup(0, 3), lookup(0, 4), check()]
    s["dead_heap"] = [create(0), destroy(0), alloc(0, "alloc", v=8 << 8 | 10),
                      destroy(0, 7), add(3, 0, bad=0), lookup(1, 3), trim(3), create(0), check()]
    s["names"] = [create(0), create(1), create(0, 5), create(1, 5), create(0, 6),
                  create(0, 7), create(1, 7 | 8), create(0), lookup(0, 0), lookup(1, 0),
                  lookup(0, 1), lookup(0, 1 | 8), lookup(0, 2), lookup(0, 2 | 8), lookup(0, 5),
                  lookup(0, 5 | 8), lookup(0, 6), lookup(0, 7), check()]
    s["remove_busy"] = [create(0), add(0, 0), alloc(0, size="class", v=1000), remove(0),
                        free(0), remove(0), destroy(0), check()]
    s["destroy_busy"] = [create(0), add(0, 0), destroy(0), check(), remove(0), destroy(0)]
    s["remove_wrong"] = [create(0), create(1), add(0, 0), add(1, 1), add(2, 2),
                         remove(0, 5), remove(1, 5), remove(2, 5), remove(0, 6), remove(2, 6),
                         remove(0, 7), remove(1, 7), remove(2, 7), check()]
    s["register"] = [add(2, 0), add(2, 1, table=0), probe(0, 0, 0), probe(4, 5, 6),
                     wild(5, 1, 0), wild(5, 2, 1), wild(5, 3, 2), remove(0), remove(0), check()]
    s["pages_2m"] = [create(0), add(0, 0, ps2m=1), add(0, 1, off=8, len_=7, ps2m=1, table=0),
                     alloc(0, size="large", v=60000), alloc(0, "alloc", "small", 1, "page"),
                     probe(), check()]
    s["bad_args"] = [create(0), add(0, 0, bad=5), add(0, 0, bad=6), add(0, 0 | 0x40, bad=6),
                     add(0, 0, bad=7), add(0, 0, table=0, bad=7), add(2, 1, bad=5),
                     add(2, 1, ps2m=1, bad=5), add(2, 1, ps2m=1, bad=7), add(0, 2, ps2m=1, bad=6),
                     check()]
    s["overlap"] = [create(0), create(1), add(0, 0, off=0, len_=7), add(0, 0, off=4, len_=7),
                    add(1, 0, off=6, len_=1), add(2, 0, off=0, len_=0), add(2, 0, off=8, len_=3),
                    add(1, 0, off=9, len_=0), check()]
    s["scattered"] = [create(0), add(0, 0, table=2), alloc(0, size="small", v=100),
                      alloc(0, size="class", v=6000), alloc(0, size="large", v=10),
                      alloc(0, "bulk", "class", 5000, n=8), probe(), check()]
    s["holes"] = [create(0), add(0, 3, table=3), alloc(0, size="class", v=12000),
                  alloc(0, size="large", v=1000), alloc(0, "bulk", "small", 9, n=30),
                  usable(3), probe(3, 3, 3), check()]
    s["iova_va"] = [create(0), add(0, 1, table=0, va_mode=1), add(2, 2, table=0, va_mode=1, npages=1),
                    alloc(0, size="class", v=4000), usable(0), probe(1, 0, 0), probe(2, 9, 9),
                    check()]
    s["checked_double_free"] = [create(0), add(0, 0), checked(1), alloc(0, size="small", v=60),
                                alloc(0, size="class", v=3000), alloc(0, size="large", v=5),
                                free(0), free(0), free(0), wild(7, 0, 0), wild(7, 1, 1),
                                wild(7, 2, 2), check(), checked(0)]
    s["checked_interior"] = [create(0), add(0, 0), alloc(0, size="small", v=200),
                             alloc(0, size="class", v=700), checked(1), wild(8, 5, 0),
                             wild(8, 6, 1), wild(8, 7, 2), check(), checked(0), check()]
    s["checked_cached"] = [create(0), add(0, 0), alloc(0, "bulk", "small", 100, n=20),
                           free_bulk(10, 1), checked(1), wild(7, 0, 0), wild(7, 3, 0),
                           free_bulk(10, 2), wild(7, 4, 1), checked(0), check()]
    s["wild_outside"] = [create(0), add(0, 0), alloc(0, size="large", v=300),
                         wild(0, 1, 0), wild(1, 2, 1), wild(2, 3, 2), wild(3, 4, 0),
                         wild(4, 5, 1), wild(6, 6, 0), wild(6, 7, 1), wild(6, 8, 2), check()]
    s["wild_removed"] = [create(0), add(0, 0, len_=3), alloc(0, size="small", v=8), free(0),
                         remove(0), wild(4, 0, 0), wild(4, 1, 1), wild(4, 2, 2), check()]
    s["free_bulk_mix"] = [create(0), add(0, 0), alloc(0, "bulk", "small", 33, n=12),
                          alloc(0, size="large", v=7), free_bulk(5, 0, 0x80 | 0x15),
                          free_bulk(16, 9, 0xff), free_bulk(1, 0, 0x80), check()]
    s["trim_stats"] = [create(0), create(1), add(0, 0), add(1, 1), alloc(0, "bulk", "class", 700, n=30),
                       alloc(1, "bulk", "small", 40, n=30), free_bulk(16, 0), trim(0), trim(1),
                       lookup(0, 7), lookup(1, 7), check()]
    s["two_heaps"] = [create(0), create(1), add(0, 0), add(1, 1), add(0, 2, table=3),
                      add(1, 3, table=2), alloc(0, size="class", v=300), alloc(1, size="class", v=300),
                      alloc(0, size="large", v=400), alloc(1, "zalloc", "large", 900),
                      free(1), usable(0), check(), remove(1), remove(2), check()]
    s["churn"] = [create(0), add(0, 0, len_=3)] + \
        [alloc(0, "bulk", "class", 1500 + 100 * i, n=10) if i % 2 == 0 else free_bulk(10, i)
         for i in range(12)] + [check()]
    s["full_heap"] = [create(0), add(0, 0, len_=1), alloc(0, "bulk", "large", 40000, n=20),
                      alloc(0, size="large", v=60000), alloc(0, size="class", v=32000), check()]
    s["double_free_probe"] = [create(0), add(0, 0), alloc(0, size="small", v=40), free(0),
                              alloc(0, size="small", v=40), alloc(0, size="small", v=40),
                              check()]
    s["readd"] = [create(0), add(0, 0, len_=3), remove(0), add(0, 0, len_=3, table=2),
                  alloc(0, size="class", v=2500), free(0), remove(0), add(2, 0, len_=3), check()]
    return s


def random_program(rng, v2=False):
    names = ["create", "destroy", "add", "remove", "alloc", "free", "free_bulk", "wild",
             "usable", "probe", "check", "checked", "trim", "lookup"]
    weights = [3, 1, 4, 2, 8, 5, 2, 3, 2, 2, 1, 1, 1, 1]
    if v2:
        names += ["bad_free", "double_free", "stats_trim", "dma"]
        weights += [3, 1, 1, 3]
    prog = [create(0), add(0, rng.randrange(4))]
    for _ in range(rng.randrange(8, 40)):
        n = rng.choices(names, weights)[0]
        b = [rng.randrange(256) for _ in range(4)]
        prog.append(bytes([OP[n]] + b))
    return prog


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.startswith("seed-"):
            os.remove(os.path.join(out, name))
    progs = [("seed-" + name, prog) for name, prog in scenarios().items()]
    rng = random.Random(20240611)
    progs += [("seed-random-%02d" % i, random_program(rng)) for i in range(16)]
    # V2 seeds: meaningful with XMEM_FUZZ_V2=1; without it they decode as
    # other (valid) programs.
    progs += [("seed-v2-" + name, prog) for name, prog in v2_scenarios().items()]
    rng = random.Random(20261129)
    progs += [("seed-v2-random-%02d" % i, random_program(rng, v2=True)) for i in range(8)]
    for name, prog in progs:
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"".join(prog))
    n = len(progs)
    print("wrote %d seeds to %s" % (n, out))


if __name__ == "__main__":
    main()
