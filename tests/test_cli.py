from kamdash import cli, store


def test_demo_and_check_commands(tmp_path, capsys):
    out = tmp_path / "cli.duckdb"
    assert cli.main(["demo", "--customers", "120", "--years", "1", "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "order lines" in printed and " s" in printed  # says what it built and how long it took
    assert store.check_sales_db(out).ok
    assert cli.main(["check", "--db", str(out)]) == 0
    assert cli.main(["info", "--db", str(out)]) == 0
    assert "customers" in capsys.readouterr().out


def test_check_reports_problems(tmp_path, capsys):
    assert cli.main(["check", "--db", str(tmp_path / "missing.duckdb")]) == 1
    assert "there is no sales database at" in capsys.readouterr().out


def test_demo_refuses_bad_arguments(tmp_path, capsys):
    assert cli.main(["demo", "--customers", "3", "--out", str(tmp_path / "x.duckdb")]) == 2
    assert "at least 50" in capsys.readouterr().err
