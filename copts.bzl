"""The C options every library and tool package of xmem builds with."""

# C11 with GNU extensions, optimised, with debug info and warnings on.
C_COPTS = [
    "-O2",
    "-g",
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-D_GNU_SOURCE",
]
