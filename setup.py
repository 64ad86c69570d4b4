"""The one compiled part: nodes/frame_passes.c, the chain's full-resolution passes (see its header).

Everything else is in pyproject.toml. The extension is optional: where pip finds no C compiler the build
goes on without it and nodes/frame_passes.py runs the same steps as OpenCV calls (slower, same results).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("portraitflow.nodes._frame_passes", ["nodes/frame_passes.c"],
                             extra_compile_args=["-O3", "-std=c99"], optional=True)])
