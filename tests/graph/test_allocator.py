"""The runner's malloc settings (graph/allocator.py), seen from a fresh process that ran a real graph of
720p frames: node threads share one arena, frame-size blocks come from the heap, payloads stay intact,
and a user's own MALLOC_* settings are left alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("allocator_child.py")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")


def run_child(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    proc = subprocess.run([sys.executable, str(CHILD)], capture_output=True, text=True, timeout=120,
                          env={**clean, **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def expected_frames() -> list[list[int]]:
    return [[seq, (seq + 2) % 256] for seq in range(40)]


def test_node_threads_share_one_arena_and_frame_size_blocks_come_from_the_heap():
    result = run_child()
    assert result["tuned"] is True
    assert result["arenas"] == 1                 # five node threads, each allocating frames: one arena
    assert result["large_block_mmapped"] == 0    # a 24 MB block (a 4K frame) is heap memory, reused
    assert result["received"] == expected_frames() and result["dropped"] == 0   # every frame, intact


def test_a_users_own_malloc_settings_win():
    result = run_child(MALLOC_ARENA_MAX="4")
    assert result["tuned"] is False
    assert result["arenas"] > 1                  # glibc's default: threads get arenas of their own
    assert result["large_block_mmapped"] == 1    # its default threshold: a 24 MB block is mmap'd
    assert result["received"] == expected_frames() and result["dropped"] == 0
