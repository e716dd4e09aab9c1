"""The one place of xmem's version (docs/abi.md says what bumps which part).

Read by //:BUILD (the soname libxmem.so.MAJOR and the version node XMEM_MAJOR
of libxmem.map), scripts/install.sh (file names and xmem.pc's Version) and
examples/burst_pipeline/meson.build (through pkg-config).
"""

XMEM_VERSION_MAJOR = 1
XMEM_VERSION_MINOR = 0
XMEM_VERSION_PATCH = 0
