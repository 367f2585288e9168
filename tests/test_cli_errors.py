"""Every command of `python -m kamdash`, pointed at a database that cannot be used or given bad
arguments, ends with a one-line message and a non-zero exit code, never a traceback.

The commands are read from the parser itself, so a command added later is covered too: its
required arguments get plausible values from their names (``_argv``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from kamdash import cli, store

GOOD_CSV = "customer_id,order_date,revenue\nA,2025-01-05,100\nB,2025-01-06,50\n"
# a few commands need smaller arguments to stay fast when they succeed
EXTRA = {"demo": ["--customers", "60", "--years", "1"]}
WRITERS = {"demo", "load", "import", "sync"}  # commands that build the database they are pointed at


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _value(dest: str, csv) -> str:
    d = dest.lower()
    if any(w in d for w in ("date", "end", "start", "from", "to", "as_of")):
        return "2025-06-30"
    if any(w in d for w in ("orders", "customers", "products", "cost", "file", "source")):
        return str(csv)
    return "1"


def _argv(name: str, sub: argparse.ArgumentParser, target, csv) -> list[str]:
    """The command with the database option pointing at ``target`` and every other required
    argument filled in."""
    argv = [name]
    options = {s for a in sub._actions for s in a.option_strings}
    for action in sub._actions:
        if not action.option_strings and action.dest != "help":  # positional
            argv += [list(action.choices)[0] if action.choices else _value(action.dest, csv)]
        elif action.required:
            argv += [action.option_strings[-1], _value(action.dest, csv)]
    db = "--db" if "--db" in options else "--out" if "--out" in options else None
    if db:
        argv += [db, str(target)]
    return argv + EXTRA.get(name, [])


@pytest.fixture(scope="module")
def targets(tmp_path_factory, tiny_db):
    d = tmp_path_factory.mktemp("targets")
    out = {"missing": d / "missing.duckdb"}
    out["text file"] = d / "text.duckdb"
    out["text file"].write_text("customer_id,order_date\n")
    out["corrupt"] = d / "corrupt.duckdb"
    out["corrupt"].write_bytes(tiny_db.read_bytes()[:20_000])
    out["other DuckDB"] = d / "other.duckdb"
    con = duckdb.connect(str(out["other DuckDB"]))
    con.execute("CREATE TABLE things (a INTEGER)")
    con.close()
    return out


def _run(argv, capsys) -> tuple[int, str, str]:
    try:
        rc = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def _one_line_error(err: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if lines and lines[0].startswith("usage:"):  # argparse: the usage, then one error line
        lines = lines[-1:]
    return len(lines) == 1 and lines[0].startswith(("error:", "python -m kamdash")) and \
        "Traceback" not in err


@pytest.mark.parametrize("command", sorted(_commands()))
@pytest.mark.parametrize("kind", ["missing", "text file", "corrupt", "other DuckDB"])
def test_every_command_on_a_database_it_cannot_use(command, kind, targets, tmp_path, capsys):
    target = tmp_path / targets[kind].name
    if targets[kind].exists():
        shutil.copy(targets[kind], target)
    before = target.read_bytes() if target.exists() else None
    csv = tmp_path / "orders.csv"
    csv.write_text(GOOD_CSV)
    argv = _argv(command, _commands()[command], target, csv)
    if "--db" not in argv and "--out" not in argv:
        pytest.skip("its database option is on a sub-command")
    rc, out, err = _run(argv, capsys)  # an uncaught exception fails the test here
    assert "Traceback" not in out + err
    if command in WRITERS and kind in ("missing", "text file", "corrupt"):
        return  # building a database there is what the command is for
    if command == "check":  # says what is wrong on its standard output
        assert rc == 1 and len(out.strip().splitlines()) == 1
    else:
        assert rc != 0, (argv, out, err)
        if command == "import":  # its report: the located errors, then "nothing was imported"
            assert err.startswith("error: ") and "not changed" in err
        else:
            assert _one_line_error(err), err
    if kind == "missing":
        assert "no sales database" in out + err or "no database" in out + err or "missing" in out + err
    else:
        assert target.read_bytes() == before  # nothing changed


@pytest.fixture
def locked(tmp_path, tiny_db):
    """A copy of the tiny database held open for writing by another process."""
    path = tmp_path / "locked.duckdb"
    shutil.copy(tiny_db, path)
    child = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(path)!r})\n"
        "print('open', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "open"
    yield path
    child.kill()
    child.wait()


READERS = sorted(set(_commands()) - WRITERS)
OPENS_THE_DATABASE = {"info", "concentration", "clv", "check", "upgrade", "key-accounts"}


def test_every_reading_command_on_a_locked_database(locked, tmp_path, capsys):
    csv = tmp_path / "orders.csv"
    csv.write_text(GOOD_CSV)
    for command in READERS:
        argv = _argv(command, _commands()[command], locked, csv)
        rc, out, err = _run(argv, capsys)
        assert "Traceback" not in out + err
        if "--db" not in argv:
            continue
        assert rc != 0, argv
        if command in OPENS_THE_DATABASE:
            assert "another program" in out + err, (argv, out, err)
        elif command != "check":
            assert _one_line_error(err), err


def test_a_locked_database_status(locked):
    status = store.check_sales_db(locked)
    assert status.problem == "locked" and "lock" in status.detail.lower()
    assert "another program" in cli.status_text(status)


@pytest.mark.parametrize("argv, says", [
    (["concentration", "--nosuch"], "unrecognized arguments"),
    (["concentration", "--value", "height"], "invalid choice"),
    (["concentration", "--from", "2025-13"], "not a month"),
    (["concentration", "--from", "2025-06", "--to", "2025-01"], "is after"),
    (["clv", "--calibration-end", "yesterday"], "not a date"),
    (["demo", "--lines", "0"], "positive number"),
    (["demo", "--customers", "3"], "at least 50"),
    (["import", "nosuchrole:orders.csv"], "unknown role 'nosuchrole'"),
    (["import", "orders.csv", "--map", "nothing"], "SOURCE=FIELD"),
    (["import", "orders.csv", "--map", "a=height"], "unknown field"),
    (["upgrade", "--db", "/nonexistent/sales.duckdb"], "there is no database"),
    (["demo", "--out", "/proc/no/such/place.duckdb"], "/proc/no"),
])
def test_bad_arguments_get_one_line(argv, says, tmp_path, capsys, tiny_db, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orders.csv").write_text(GOOD_CSV)
    db = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, db)
    if "--db" not in argv and argv[0] in ("concentration", "clv", "import"):
        argv = [*argv, "--db", str(db)]
    rc, out, err = _run(argv, capsys)
    assert rc == 2, (argv, out, err)
    assert says in err and _one_line_error(err), err
    assert "Traceback" not in err


def test_a_user_database_is_not_a_sales_database(tmp_path, capsys):
    user = tmp_path / "sales.user.duckdb"
    store.ensure_user_db(user)
    rc, out, err = _run(["info", "--db", str(user)], capsys)
    assert rc == 2 and "not a kamdash sales database" in err


def test_a_url_that_cannot_be_reached(tmp_path, capsys):
    rc, out, err = _run(["info", "--db", f"duckdb://{tmp_path}/missing.duckdb"], capsys)
    assert rc == 2 and "no sales database" in err
    started = time.perf_counter()
    rc, out, err = _run(["info", "--db", "postgresql://nobody@127.0.0.1:1/none"], capsys)
    assert rc == 2 and err.startswith("error: cannot open postgresql://") and len(err.splitlines()) == 1
    assert time.perf_counter() - started < 30
