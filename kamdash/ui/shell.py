"""The app shell: language switch, database check with a way out, global filters, context.

``start()`` runs in app.py on every rerun, before the page: it renders the sidebar and returns
a ``Context`` (language, filters, data facts) that pages read with ``context()``. Every
sidebar widget is bound to the URL (``bind="query-params"``) so a view can be shared by link and
survives a reload.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import streamlit as st

from kamdash import access, config, i18n
from kamdash.ui import auth, data, source
from kamdash.views import common

CTX_KEY = "kamdash.context"
LANG_KEY = "lang"
PERIOD_KEY = "period"
SHOWN_LANG_KEY = "kamdash.shown_lang"
TIER_KEY = "tier"  # ABC tier filter: A/B/C by revenue of the chosen period
DEFAULT_PERIOD_MONTHS = common.DEFAULT_PERIOD_MONTHS
# query parameter / widget key of each filter dimension (common.DIMENSIONS; the URL's names)
URL_KEYS = {"region": "region", "customer_type": "ctype", "sector": "sector", "account_manager": "manager"}
FILTER_KEYS = {URL_KEYS[c]: (c, f"filters.{c}") for c in common.DIMENSIONS}  # key -> (column, catalog key)
ASSIGNMENT_KEYS = ("ka", "segment")  # KA type and segment filters (stored assignment)


@dataclass(frozen=True)
class Context(i18n.Localized):
    lang: str
    filters: common.Filters
    facts: dict
    labels: dict
    data_key: tuple
    actor: access.Actor = access.FULL  # who acts; ``filters.scope`` holds the customers they see

    def sees(self, customer_id) -> bool:
        return self.actor.sees(customer_id)

    @property
    def currency(self) -> str:
        return self.facts.get("currency") or config.currency()

    def number(self, x, **kw) -> str:
        return i18n.fmt_number(x, self.lang, **kw)

    def date(self, d) -> str:
        return i18n.fmt_date(d, self.lang)


def _month_options(first: date, last: date) -> list[str]:
    out, m = [], common.month_start(first)
    while m <= last:
        out.append(m.strftime("%Y-%m"))
        m = common.add_months(m, 1)
    return out


def _language() -> str:
    default = config.default_language()
    langs = list(i18n.LANGUAGES)
    lang = st.sidebar.segmented_control(
        i18n.t("lang.label", default),  # the same in both languages: easy to find
        langs,
        default=default,
        format_func=i18n.LANGUAGES.get,
        key=LANG_KEY,
        bind="query-params",
        required=True,
    )
    lang = lang or default
    # Bound multiselects keep their value as the text shown when it was chosen; after a
    # language switch, hand the same values back so they are shown in the new language.
    if st.session_state.get(SHOWN_LANG_KEY, lang) != lang:
        for key in (*FILTER_KEYS, *ASSIGNMENT_KEYS):
            if st.session_state.get(key):
                st.session_state[key] = list(st.session_state[key])
    st.session_state[SHOWN_LANG_KEY] = lang
    return lang


def _problem(status, lang: str) -> None:
    """Explain why the database cannot be used and offer to build the demo database."""
    from kamdash import demo  # only needed on this path: keeps start-up light

    tr = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    st.title(tr("app.title"))
    path = config.db_path()
    if path is None:
        st.error(tr("db.not_file", target=config.db_target(), detail=status.detail))
        return
    from kamdash import schema

    st.error(tr(f"db.{status.problem}", path=str(path), detail=status.detail,
                found=status.found_version, expected=schema.SALES_SCHEMA_VERSION))
    st.info(tr("db.way_out", customers=f"{demo.DEFAULT_CUSTOMERS:,}", years=demo.DEFAULT_YEARS,
               seconds=demo.BUILD_SECONDS_ESTIMATE))
    keep = path.with_name(f"{path.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
    if path.exists():
        st.caption(tr("db.kept_note", path=str(keep)))
    if not auth.actor().is_admin:  # team mode: only admins rebuild or replace the data
        st.caption(tr("auth.admins_fix_data"))
        return
    if status.problem == "older_version" and st.button(tr("db.upgrade_button"), type="primary", key="upgrade_db"):
        from kamdash import store

        with st.spinner(tr("db.upgrading")):
            data.release_if_changed(config.db_target())
            store.upgrade_sales_db(path)
        st.rerun()
    if st.button(tr("db.build_button"), type="primary" if status.problem != "older_version" else "secondary",
                 key="build_demo"):
        with st.spinner(tr("db.building")):
            if path.exists():
                data.release_if_changed(config.db_target())
                path.rename(keep)
            info = demo.build_demo(path)
        st.success(tr("db.built", lines=f"{int(info['order_lines']):,}", seconds=info["seconds"]))
        st.rerun()
    st.caption(tr("db.cli", path=str(path)))
    if not auth.actor().is_admin:
        return
    st.divider()
    st.subheader(tr("ingest.no_data_hint"))
    from kamdash.ui import importer

    importer.render(lang)


def _filters(lang: str, facts: dict, options: dict, labels: dict,
             scope: tuple[str, ...] | None = None) -> common.Filters:
    tr = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    sb = st.sidebar
    sb.header(tr("filters.header"))
    months = _month_options(facts["first_month"], facts["last_month"])
    default = (months[max(0, len(months) - DEFAULT_PERIOD_MONTHS)], months[-1])
    if len(months) > 1:
        start, end = sb.select_slider(tr("filters.period"), months, value=default,
                                      key=PERIOD_KEY, bind="query-params",
                                      help=tr("filters.period.help"))
    else:
        start = end = months[0]
    selected = {}
    for key, (column, label_key) in FILTER_KEYS.items():
        selected[column] = tuple(sb.multiselect(
            tr(label_key), options[column], key=key, bind="query-params",
            format_func=lambda v, c=column: i18n.value_label(c, v, lang, labels),
            placeholder=tr("filters.all"),
        ))
    tiers = _tier_filter(lang, (start, end))
    customer_ids = _assignment_filters(lang)
    sb.button(tr("filters.reset"), on_click=_reset_filters, args=(default,), key="reset_filters")
    sb.caption(tr("filters.share_hint"))
    return common.Filters(
        **tiers,
        start=date.fromisoformat(start + "-01"),
        end=date.fromisoformat(end + "-01"),
        **{common.FILTER_FIELDS[c]: selected[c] for c in common.DIMENSIONS},
        customer_ids=customer_ids,
        scope=scope,
    )


def _tier_filter(lang: str, period: tuple[str, str]) -> dict:
    """The ABC tier multiselect; Filters fields for it (none when no tier is chosen, so cache
    keys do not change). Tiers are computed on the chosen period's revenue with the cut-offs
    saved on the concentration page."""
    cutoffs = data.tier_cutoffs()
    pct = {"a": f"{cutoffs[0]:.0%}", "b": f"{cutoffs[1]:.0%}"}
    tiers = tuple(st.sidebar.multiselect(
        i18n.t("filters.tier", lang), ["A", "B", "C"], key=TIER_KEY, bind="query-params",
        placeholder=i18n.t("filters.all", lang), help=i18n.t("filters.tier.help", lang, **pct)))
    if not tiers:
        return {}
    months = tuple(date.fromisoformat(m + "-01") for m in period)
    return {"tiers": tiers, "tier_cutoffs": cutoffs, "tier_period": months}


def _assignment_filters(lang: str) -> tuple[str, ...] | None:
    """KA type and segment filters, resolved to customer ids through the stored assignment
    (written by the segments and key-accounts pages). Within a filter any chosen value
    matches; both filters together must match. None: no restriction."""
    tr = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    assigned = data.assignment()
    has = len(assigned) > 0
    names = dict(zip(assigned["segment"].dropna().astype(int).astype(str), assigned.loc[
        assigned["segment"].notna(), "segment_name"])) if has else {}
    ka = st.sidebar.multiselect(
        tr("filters.ka_type"), list(common.KA_TYPES), key="ka", bind="query-params",
        format_func=lambda v: tr(f"ka.type.{v}"), placeholder=tr("filters.all"),
        disabled=not has, help=None if has else tr("filters.assignment_missing"))
    segs = st.sidebar.multiselect(
        tr("filters.segment"), sorted(names, key=int), key="segment", bind="query-params",
        format_func=lambda v: f"{v} · {names.get(v, '')}".rstrip(" ·"), placeholder=tr("filters.all"),
        disabled=not has, help=None if has else tr("filters.assignment_missing"))
    if not has or not (ka or segs):
        return None
    keep = assigned
    if ka:
        types = keep["ka_types"].fillna("").str.split(",")
        keep = keep[[bool(set(t) & set(ka)) for t in types]]
    if segs:
        keep = keep[keep["segment"].astype("Int64").astype(str).isin(segs)]
    return tuple(sorted(keep["customer_id"]))


def _reset_filters(default_period) -> None:
    st.session_state[PERIOD_KEY] = default_period
    for key in (*FILTER_KEYS, TIER_KEY, *ASSIGNMENT_KEYS):
        st.session_state[key] = []


def _data_caption(lang: str, facts: dict) -> None:
    tr = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    st.sidebar.divider()
    st.sidebar.caption(
        tr("data.as_of", date=i18n.fmt_date(facts["as_of"], lang)) + "  \n"
        + tr("data.counts", lines=i18n.fmt_number(facts["order_lines"], lang),
             customers=i18n.fmt_number(facts["customers"], lang))
        + ("  \n" + synced if (synced := source.sidebar_line(facts, lang)) else "")
    )


def start() -> Context:
    """Render the shell and return the page context; stops the script if the data is unusable."""
    # Streamlit's own table toolbar download (and copy) writes the shown text unneutralised and
    # formatted; every table has kamdash's CSV / Excel downloads instead (kamdash.export)
    if not st.get_option("client.disableDataExport"):
        st.set_option("client.disableDataExport", True)
    lang = _language()
    ent = auth.gate(lang)  # team mode: stops here for a visitor without access
    target = config.db_target()
    data.sweep_once(target)
    data.release_if_changed(target)
    sig = data.signature(target)
    status = data.database_status(target, sig)
    if not status.ok:
        _problem(status, lang)
        st.stop()
    data_key = (target, sig)
    facts = data.data_facts(data_key)
    labels = data.value_labels(data_key, lang)
    actor, scope = auth.set_actor(ent, data_key)
    auth.sidebar(lang, actor, facts["customers"])
    options = data.scoped_options(data_key, scope)  # a user is offered their accounts' values
    filters = _filters(lang, facts, options, labels, scope)
    _data_caption(lang, facts)
    return Context(lang=lang, filters=filters, facts=facts, labels=labels, data_key=data_key, actor=actor)


def start_app() -> Context:
    """app.py: render the shell and leave the context for the page of this rerun."""
    ctx = start()
    st.session_state[CTX_KEY] = ctx
    return ctx


def context() -> Context:
    """The context computed by the shell for this rerun (pages call this).

    app.py runs ``start()`` before the page on every rerun and leaves the context here; the page
    takes it, so a stale context can never be read on a later rerun. A page run on its own (as
    in its AppTest) renders the shell itself.
    """
    ctx = st.session_state.pop(CTX_KEY, None)
    return ctx if ctx is not None else start()


AUTHOR_KEY = "author"
_AUTHOR_KEPT = "kamdash.author"  # the name outlives pages where the sidebar field is not shown


def author(ctx) -> str:
    """Who is editing: the signed-in user's name (or e-mail) when a login is configured, else
    the name typed in the sidebar field "Your name" (remembered for the session); "" if none."""
    try:
        if st.user.is_logged_in:
            return str(st.user.get("name") or st.user.get("email") or "")
    except Exception:  # no login configured: st.user cannot tell
        pass
    if AUTHOR_KEY not in st.session_state:
        kept = st.session_state.get(_AUTHOR_KEPT)
        st.session_state[AUTHOR_KEY] = kept if kept is not None else _cookie_author()
    name = st.sidebar.text_input(ctx.t("author.label"), key=AUTHOR_KEY, max_chars=AUTHOR_MAX,
                                 help=ctx.t("author.help")).strip()
    st.session_state[_AUTHOR_KEPT] = name
    if name != st.session_state.get(_AUTHOR_WRITTEN, _cookie_author()):
        _remember_author(name)
    return name


# Until sign-in exists, the name is remembered per browser in a cookie: Streamlit reads cookies
# (st.context.cookies, sent when the page connects) but cannot set one, so a script does.
AUTHOR_COOKIE = "kamdash_author"
AUTHOR_MAX = 80
_AUTHOR_WRITTEN = "kamdash.author_cookie"
COOKIE_DAYS = 365


def _cookie_author() -> str:
    """The name stored in this browser's cookie ("" when none), cleaned like any typed name."""
    import urllib.parse

    try:
        raw = st.context.cookies.get(AUTHOR_COOKIE) or ""
    except Exception:  # no browser connection (AppTest, bare mode): no cookie
        return ""
    text = urllib.parse.unquote(raw)
    return "".join(c for c in text if c.isprintable()).strip()[:AUTHOR_MAX]


def _remember_author(name: str) -> None:
    """Set (or clear, for "") the author cookie in the browser."""
    import json

    value = json.dumps(name).replace("</", "<\\/")  # a JS string literal, safe inside <script>
    age = COOKIE_DAYS * 86400 if name else 0
    st.sidebar.html(f"<script>document.cookie = '{AUTHOR_COOKIE}=' + encodeURIComponent({value}) + "
            f"'; path=/; max-age={age}; SameSite=Strict';</script>", unsafe_allow_javascript=True)
    st.session_state[_AUTHOR_WRITTEN] = name
