"""The PostgreSQL fixture first stops and removes the servers that killed test runs left
behind, and nothing that another running session still owns."""

from __future__ import annotations

import os
import subprocess
import time

from tests.sources.conftest import PREFIX, YOUNG_S, _alive, sweep_stale_servers


def _folder(tmp, name, owner=None, postmaster=None, age=0.0):
    root = tmp / (PREFIX + name)
    (root / "data").mkdir(parents=True)
    if owner is not None:
        (root / "owner").write_text(f"{owner}\n")
    if postmaster is not None:  # postmaster.pid: the pid, then the data folder, ...
        (root / "data" / "postmaster.pid").write_text(f"{postmaster}\n{root / 'data'}\n")
    if age:
        then = time.time() - age
        os.utime(root, (then, then))
    return root


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_sweep_removes_only_what_no_one_owns(tmp_path):
    dead = _dead_pid()
    server = subprocess.Popen(["sleep", "300"])  # stands for a postmaster left running
    try:
        orphan = _folder(tmp_path, "orphan", owner=dead, postmaster=server.pid)
        dead_both = _folder(tmp_path, "dead", owner=dead, postmaster=dead)
        mine = _folder(tmp_path, "mine", owner=os.getpid(), postmaster=server.pid)
        old_no_owner = _folder(tmp_path, "old", postmaster=dead, age=2 * YOUNG_S)
        new_no_owner = _folder(tmp_path, "new")  # another session between mkdtemp and its owner file
        old_running = _folder(tmp_path, "running", postmaster=os.getpid(), age=2 * YOUNG_S)
        removed = sweep_stale_servers(tmp_path)
        assert sorted(removed) == sorted([orphan, dead_both, old_no_owner])
        assert not orphan.exists() and not dead_both.exists() and not old_no_owner.exists()
        assert mine.exists() and new_no_owner.exists() and old_running.exists()
        server.wait(timeout=10)  # the orphan's server was stopped
        assert not _alive(server.pid)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
