"""The import widgets of the Data page: upload, column mapping, validation report, import.

Flow: upload files → each file is saved to a private temporary folder and inspected (encoding,
delimiter, header row, sheets, suggested or saved mapping) → the user checks the role, sheet and
mapping of each file, the date order and the mode → "Check" runs the engine without writing →
the report (counts, located errors, warnings, what the pages will lack) → import all, import
the good rows only, or cancel. The import builds a new database and swaps it in atomically; the
shell sees the new file signature on the next rerun and every cached query follows it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from kamdash import config, export, i18n, store
from kamdash.ingest import engine, mapping, sniff
from kamdash.ingest.problems import LoadError
from kamdash.ui import data, safe
from kamdash.views import data as view

KEY = "ingest."  # prefix of every session_state key of this component
TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls", "parquet"]


def _state(name: str, default=None):
    return st.session_state.setdefault(KEY + name, default)


class UploadFolder:
    """Owns a session's upload folder: the folder is deleted when this object goes, which
    happens when the session ends (its session state is dropped) or the server stops."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix=f"kamdash-upload-{os.getpid()}-")  # swept once this process is gone
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)


def _workdir() -> Path:
    """This session's private folder for uploaded files (never a path the user names)."""
    d = _state("dir")
    if not d or not Path(d).exists():
        folder = UploadFolder()
        st.session_state[KEY + "folder"] = folder  # removed with the session
        d = folder.path
        st.session_state[KEY + "dir"] = d
    return Path(d)


def _safe_name(name: str) -> str:
    base = Path(name).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w\-]+", "_", stem)[:60] or "file"
    return stem + suffix


def _saved(uploaded) -> Path:
    """Write an uploaded file to the session folder (once per upload)."""
    files = _state("saved", {})
    if uploaded.file_id not in files:
        path = _workdir() / f"{len(files)}_{_safe_name(uploaded.name)}"
        with open(path, "wb") as out:
            shutil.copyfileobj(uploaded, out, 4 * 1024 * 1024)
        files[uploaded.file_id] = str(path)
    return Path(files[uploaded.file_id])


def _forget_removed(uploads) -> None:
    """Delete the saved copies of files the user removed from the uploader (all when none)."""
    files = st.session_state.get(KEY + "saved", {})
    current = {u.file_id for u in uploads}
    for fid in [f for f in files if f not in current]:
        Path(files.pop(fid)).unlink(missing_ok=True)
    if not uploads and st.session_state.get(KEY + "dir"):
        shutil.rmtree(st.session_state.pop(KEY + "dir"), ignore_errors=True)
        st.session_state.pop(KEY + "inspected", None)


def _field_label(lang: str, f: str) -> str:
    return i18n.t(f"ingest.field.{f}", lang) + f"  ·  {f}"


def _reason(p, lang: str) -> str:
    if p.code:
        fields = dict(p.fields)
        if p.code == "more_rows":
            fields["reason"] = fields.get("reason", "")
        return i18n.t(f"ingest.reason.{p.code}", lang, **fields)
    return p.reason


def problem_table(problems, lang: str) -> pd.DataFrame:
    """Located problems as a table, reasons in ``lang`` (also for the company-source panel)."""
    tr = lambda k: i18n.t(k, lang)  # noqa: E731
    return pd.DataFrame({
        tr("ingest.col.file"): [p.file for p in problems],
        tr("ingest.col.line"): [p.line for p in problems],
        tr("ingest.col.column"): [p.column for p in problems],
        tr("ingest.col.value"): [p.value for p in problems],
        tr("ingest.col.reason"): [_reason(p, lang) for p in problems],
    })


def _file_panel(i: int, uploaded, lang: str, user_db) -> engine.SourceFile | None:
    """Inspect one uploaded file and let the user set its role, sheet and mapping."""
    tr = lambda k, **kw: i18n.t(k, lang, **kw)  # noqa: E731
    path = _saved(uploaded)
    sheet = st.session_state.get(f"{KEY}sheet.{uploaded.file_id}")
    role = st.session_state.get(f"{KEY}role.{uploaded.file_id}")
    layout = st.session_state.get(f"{KEY}layout.{uploaded.file_id}") or None
    cache = _state("inspected", {})  # inspecting means reading (maybe transcoding): once per choice
    ckey = (uploaded.file_id, sheet, role, layout)
    if ckey not in cache:
        try:
            cache[ckey] = engine.inspect([engine.SourceFile(path, name=uploaded.name, sheet=sheet, role=role,
                                                            delimiter=layout)],
                                         user_db=user_db, workdir=_workdir())[0]
        except LoadError as exc:
            cache[ckey] = exc.problems[0]
    info = cache[ckey]
    if not isinstance(info, engine.FileInfo):
        st.error(f"**{safe.md(uploaded.name)}**: " + safe.md(_reason(info, lang)))
        return None
    with st.container(border=True):
        st.markdown(f"**{safe.md(uploaded.name)}**")
        where = (tr("ingest.file.sheet", sheet=info.sheet) if info.sheet else
                 tr("ingest.file.text", encoding=info.encoding, delimiter=_layout_label(info.delimiter, lang)))
        st.caption(where + " · " + tr("ingest.file.header", line=info.header_line)
                   + (" · " + tr("ingest.file.profile") if info.from_profile else ""))
        cols = st.columns(2)
        cols[0].selectbox(tr("ingest.role"), mapping.ROLES, index=mapping.ROLES.index(info.role),
                          format_func=lambda r: tr(f"ingest.role.{r}"), key=f"{KEY}role.{uploaded.file_id}")
        if len(info.sheets) > 1:
            cols[1].selectbox(tr("ingest.sheet"), info.sheets, index=info.sheets.index(info.sheet),
                              key=f"{KEY}sheet.{uploaded.file_id}",
                              format_func=lambda s: s + (tr("ingest.sheet.hidden") if s in info.hidden_sheets else ""))
        elif info.kind == "csv":
            layouts = ["", *sniff.LAYOUTS]
            cols[1].selectbox(tr("ingest.layout"), layouts, key=f"{KEY}layout.{uploaded.file_id}",
                              format_func=lambda d: (tr("ingest.layout.auto", found=_layout_label(info.delimiter, lang))
                                                     if not d else _layout_label(d, lang)))
        fields = list(mapping.FIELDS[info.role])
        labels = {_field_label(lang, f): f for f in fields}
        ignore = tr("ingest.map.ignore")
        frame = pd.DataFrame({
            tr("ingest.map.column"): info.columns,
            tr("ingest.map.sample"): [", ".join(str(r.get(c) or "") for r in info.sample[:3])[:60]
                                     for c in info.columns],
            tr("ingest.map.field"): [_field_label(lang, info.mapping[c]) if c in info.mapping else ignore
                                     for c in info.columns],
        })
        edited = st.data_editor(
            frame, hide_index=True, width="stretch", num_rows="fixed",
            key=f"{KEY}map.{uploaded.file_id}.{info.role}.{info.sheet}",
            disabled=[tr("ingest.map.column"), tr("ingest.map.sample")],
            column_config={tr("ingest.map.field"): st.column_config.SelectboxColumn(
                tr("ingest.map.field"), options=[ignore, *labels], required=True, width="medium")},
        )
        chosen = {c: labels[v] for c, v in zip(info.columns, edited[tr("ingest.map.field")]) if v in labels}
        missing = mapping.missing_required(chosen, info.role)
        if missing:
            st.warning(tr("ingest.map.missing", fields=", ".join(i18n.t(f"ingest.field.{f}", lang) for f in missing)))
    return engine.SourceFile(path, name=uploaded.name, role=info.role, sheet=info.sheet, mapping=chosen,
                             delimiter=layout)


def _layout_label(delimiter: str, lang: str) -> str:
    """How a text file's columns are separated, as the user reads it."""
    names = {sniff.WHITESPACE: "whitespace", sniff.FIXED: "fixed", "\t": "tab"}
    return i18n.t(f"ingest.layout.{names[delimiter]}", lang) if delimiter in names else delimiter


def _report(rep: view.ImportCheck, lang: str) -> None:
    tr = lambda k, **kw: i18n.t(k, lang, **kw)  # noqa: E731
    fmt = lambda n: i18n.fmt_number(n, lang)  # noqa: E731
    c = st.columns(3)
    c[0].metric(tr("ingest.report.rows"), fmt(rep.rows))
    c[1].metric(tr("ingest.report.bad_rows"), fmt(rep.bad_rows))
    c[2].metric(tr("ingest.report.warnings"), fmt(len(rep.warnings)))
    if rep.errors:
        st.error(tr("ingest.report.errors", n=fmt(rep.error_total)))
        table = problem_table(rep.errors, lang)
        st.dataframe(table, hide_index=True, width="stretch")
        st.download_button(tr("ingest.report.download"), export.csv_bytes(table),
                           file_name="import-problems.csv", mime="text/csv", key=KEY + "download")
    if rep.needs_date_order:
        st.warning(tr("ingest.report.date_order"))
    if rep.warnings:
        with st.expander(tr("ingest.report.warning_list", n=fmt(len(rep.warnings))), expanded=not rep.errors):
            st.dataframe(problem_table(rep.warnings, lang), hide_index=True, width="stretch")
    if rep.limits:
        st.info(tr("ingest.report.limits") + "\n\n" + "\n".join(f"- {tr(f'ingest.limit.{c}')}" for c in rep.limits))


def _progress_callback(bar, lang: str):
    ctx = get_script_run_ctx()

    def cb(fraction: float, stage: str) -> None:
        if get_script_run_ctx(suppress_warning=True) is None and ctx is not None:
            add_script_run_ctx(threading.current_thread(), ctx)
        bar.progress(min(1.0, max(0.0, fraction)), text=i18n.t(f"ingest.stage.{stage}", lang))

    return cb


def _run(sources, options, commit: bool, lang: str) -> engine.ImportReport:
    bar = st.progress(0.0, text=i18n.t("ingest.stage.prepare", lang))
    db = config.db_path()
    if commit:
        if not data.actor().is_admin:  # checked where the data is written, not only on the page
            data.refuse()
        data.release_if_changed(config.db_target())
        store.keep_backup(db)  # the data as it was, restorable from this page and the CLI
    rep = engine.run(sources, db, options, commit=commit, progress=_progress_callback(bar, lang),
                     workdir=_workdir())
    bar.empty()
    return rep


def _clear() -> None:
    d = st.session_state.get(KEY + "dir")
    for k in [k for k in st.session_state if str(k).startswith(KEY)]:
        del st.session_state[k]
    if d:
        shutil.rmtree(d, ignore_errors=True)
    st.session_state[KEY + "uploader_gen"] = st.session_state.get(KEY + "uploader_gen", 0) + 1


def render(lang: str) -> None:
    """The whole import component (works with or without a usable database)."""
    tr = lambda k, **kw: i18n.t(k, lang, **kw)  # noqa: E731
    done = st.session_state.pop(KEY + "done", None)
    if done:
        st.success(done)
    db = config.db_path()
    if db is None:
        st.info(tr("ingest.not_file", target=config.db_target()))
        return
    if not data.actor().is_admin:
        st.info(tr("auth.import_admins_only"))
        return
    limit = config.max_upload_mb()
    gen = st.session_state.get(KEY + "uploader_gen", 0)
    uploads = st.file_uploader(tr("ingest.upload"), type=TYPES, accept_multiple_files=True,
                               max_upload_size=limit, key=f"{KEY}uploader.{gen}",
                               help=tr("ingest.upload.help", mb=limit))
    st.caption(tr("ingest.upload.cli", mb=limit))
    _forget_removed(uploads or [])
    if not uploads:
        return
    user_db = config.user_db_path(db)
    sources = []
    for i, up in enumerate(uploads):
        if up.size > limit * 1024 * 1024:
            st.error(tr("ingest.too_big", name=safe.md(up.name), mb=limit))
            continue
        src = _file_panel(i, up, lang, user_db)
        if src is not None:
            sources.append(src)
    if not sources:
        return
    c = st.columns(2)
    orders = {"": tr("ingest.date_order.auto"), "dmy": tr("ingest.date_order.dmy"),
              "mdy": tr("ingest.date_order.mdy"), "ymd": tr("ingest.date_order.ymd")}
    date_order = c[0].selectbox(tr("ingest.date_order"), list(orders), format_func=orders.get,
                                key=KEY + "date_order")
    mode = c[1].radio(tr("ingest.mode"), engine.MODES, format_func=lambda m: tr(f"ingest.mode.{m}"),
                      key=KEY + "mode", horizontal=True)
    options = engine.Options(mode=mode, date_order=date_order or None, currency=config.currency(),
                             user_db=user_db)
    plan = repr([(s.name, s.role, s.sheet, s.delimiter, sorted(s.mapping.items())) for s in sources]) \
        + f"{date_order}{mode}"
    if st.button(tr("ingest.check"), type="primary", key=KEY + "check"):
        st.session_state[KEY + "report"] = (plan, _run(sources, options, False, lang))
    stored = st.session_state.get(KEY + "report")
    if not stored or stored[0] != plan:
        return
    rep = view.import_check(stored[1])
    _report(rep, lang)
    # replacing the data asks first (a copy of the current database is kept either way)
    confirmed = mode != "replace" or not db.exists() or st.checkbox(
        tr("ingest.replace_confirm"), key=KEY + "replace_ok", help=tr("ingest.replace_confirm.help"))
    buttons = st.columns(3)
    go = skip = False
    if rep.ok:
        go = buttons[0].button(tr("ingest.import", n=i18n.fmt_number(rep.rows, lang)), type="primary",
                               key=KEY + "import", disabled=not confirmed)
    elif rep.can_skip:
        st.caption(tr("ingest.fix_or_skip"))
        skip = buttons[0].button(tr("ingest.import_skip", n=i18n.fmt_number(rep.rows - rep.bad_rows, lang),
                                    bad=i18n.fmt_number(rep.bad_rows, lang)), key=KEY + "import_skip",
                                 disabled=not confirmed)
    else:
        st.caption(tr("ingest.fix"))
    buttons[1].button(tr("ingest.cancel"), on_click=_clear, key=KEY + "cancel")
    if go or skip:
        options.skip_bad_rows = skip
        result = _run(sources, options, True, lang)
        if result.committed:
            _clear()
            st.session_state[KEY + "done"] = tr(
                "ingest.done", lines=i18n.fmt_number(int(result.meta.get("order_lines", 0)), lang),
                date=result.meta.get("as_of", ""))
            st.rerun()
        st.error(tr("ingest.failed"))
        st.dataframe(problem_table(view.problems(result.problems), lang), hide_index=True, width="stretch")
