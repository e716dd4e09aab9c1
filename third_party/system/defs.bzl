"""Helpers for wrapping system (Debian) libraries under Bazel 4.2.3."""

# pkg-config's extra DPDK cflags, for targets that want them verbatim:
#   copts = DPDK_COPTS, deps = ["//third_party/system:dpdk"]
DPDK_COPTS = [
    "-include",
    "rte_config.h",
    "-march=corei7",
]

def _system_includes_impl(ctx):
    return [CcInfo(
        compilation_context = cc_common.create_compilation_context(
            system_includes = depset(ctx.attr.includes),
            defines = depset(ctx.attr.defines),
        ),
    )]

system_includes = rule(
    implementation = _system_includes_impl,
    doc = "Propagates absolute system include directories (-isystem) and defines " +
          "to every cc_* target that depends on it (native `includes` only takes " +
          "package-relative paths).",
    attrs = {
        "includes": attr.string_list(doc = "absolute directories, passed as -isystem"),
        "defines": attr.string_list(doc = "-D defines for dependents"),
    },
    provides = [CcInfo],
)
