"""The kamdash server with every script run profiled: where a page step's CPU goes.

```
.venv/bin/python -m bench.profile_server OUT.prof [python -m kamdash.ui.serve options]
```

Starts the server as ``python -m kamdash.ui.serve`` does, with Streamlit's script runner
wrapped so that each rerun (in its own thread, one per session) runs under ``cProfile``; the
runs' statistics are merged and written to ``OUT.prof`` when the server stops (and every 20
runs, so a run that is killed still leaves its figures). ``bench.load --profile OUT.prof``
starts the server this way. Read the file with ``python -m pstats OUT.prof`` or
``summarise(OUT.prof)``. Times are the CPU time of the session's thread (not the time it
waited for the others; DuckDB's own worker threads are not in them). Profiling slows every run
down: time figures of a profiled run are not compared with unprofiled ones.
"""

from __future__ import annotations

import atexit
import cProfile
import pstats
import sys
import threading
import time

_lock = threading.Lock()
_stats: pstats.Stats | None = None
_runs = 0


def _save(out: str) -> None:
    with _lock:
        if _stats is not None:
            _stats.dump_stats(out)


def install(out: str) -> None:
    """Profile every script run of this process's Streamlit server into ``out``."""
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner.ScriptRunner._run_script

    def profiled(self, *args, **kwargs):
        global _stats, _runs
        prof = cProfile.Profile(time.thread_time)  # CPU of this thread: not the waits for others
        prof.enable()
        try:
            return original(self, *args, **kwargs)
        finally:
            prof.disable()
            with _lock:
                if _stats is None:
                    _stats = pstats.Stats(prof)
                else:
                    _stats.add(prof)
                _runs += 1
                every = _runs % 20 == 0
            if every:
                _save(out)

    script_runner.ScriptRunner._run_script = profiled
    atexit.register(_save, out)


def summarise(path: str, top: int = 40, sort: str = "cumulative") -> None:
    pstats.Stats(path).sort_stats(sort).print_stats(top)


def main() -> int:
    import signal

    from kamdash import config

    config.one_thread_per_computation()  # as kamdash.ui.serve does, before streamlit loads numpy
    out, rest = sys.argv[1], sys.argv[2:]
    install(out)
    # a terminated server writes its figures (atexit runs on a normal exit only)
    signal.signal(signal.SIGTERM, lambda *_: (_save(out), sys.exit(0)))
    from kamdash.ui import serve

    return serve.main(rest)


if __name__ == "__main__":
    sys.exit(main())
