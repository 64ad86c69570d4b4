"""The one compiled part: nodes/frame_passes.c, the guided filter's nodes/guide_pass.c and the looks' own
passes (nodes/looks/*_pass.c), one extension module of full-resolution passes (see frame_passes.c's header).

Everything else is in pyproject.toml. The extension is optional: where pip finds no C compiler the build
goes on without it and the same steps run as OpenCV calls (nodes/frame_passes.py; slower, same pictures).
"""
from glob import glob

from setuptools import Extension, setup

setup(ext_modules=[Extension("portraitflow.nodes._frame_passes",
                             ["nodes/frame_passes.c", "nodes/shrink_pass.c", *sorted(glob("nodes/looks/*_pass.c")),
                              "nodes/guide_pass.c"],
                             include_dirs=["nodes"], depends=["nodes/frame_passes.h"],
                             extra_compile_args=["-O3", "-std=c99"], optional=True)])
