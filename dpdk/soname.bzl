"""A shared library, built by Bazel, imported under its soname."""

load("@rules_cc//cc:defs.bzl", "cc_import")

def soname_import(name, lib, soname, hdrs = []):
    """cc_import of `lib` copied to solib/`soname`.

    A program linked against a library records the library's soname as
    NEEDED; Bazel's solib directory holds each imported library under its
    file name, so the copy must carry the soname for the loader to find it.
    """
    native.genrule(
        name = name + "_copy",
        srcs = [lib],
        outs = ["solib/" + soname],
        cmd = "cp $< $@",
    )
    cc_import(
        name = name,
        hdrs = hdrs,
        shared_library = ":" + name + "_copy",
    )
