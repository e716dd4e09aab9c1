"""Compiler options shared by the test packages under tests/."""

# C11 with GNU extensions, warnings on, debug info: every test target.
TEST_COPTS_BASE = [
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-D_GNU_SOURCE",
    "-g",
]

# Unit tests: quick to build, readable in a debugger.
TEST_COPTS = TEST_COPTS_BASE + ["-O1"]

# Tests whose load matters (stress, stall, IOMMU sweeps).
TEST_COPTS_O2 = TEST_COPTS_BASE + ["-O2"]
