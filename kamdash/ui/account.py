"""Streamlit edge of the Account 360 and Account plans pages: the account picker (bound to the
``customer`` query parameter, so any list can link here), cached account data, the plan editor
with optimistic concurrency (conflict view: theirs vs yours, keep mine / take theirs / merge by
field), version history, the plans portfolio and the one-pager downloads.
"""

from __future__ import annotations

import urllib.parse
from datetime import date

import pandas as pd
import streamlit as st

from kamdash import access, config, i18n, plans
from kamdash.ui import account_words as words
from kamdash.ui import allowed, components, data, lines, safe
from kamdash.views import account as view

PICK_KEY = "account"
QUERY_KEY = "customer"


# ---------------------------------------------------------------- links and picking


def url(customer_id: str) -> str:
    """Link to an account's 360 page (relative, so it works under any base path), keeping the
    language of the current view."""
    q = {QUERY_KEY: customer_id}
    lang = st.query_params.get("lang")
    if lang:
        q["lang"] = lang
    return "account?" + urllib.parse.urlencode(q)


def urls(ids) -> list[str]:
    """``url`` of many accounts (the query string read once: a long list cost seconds); None
    (no link) for an empty id, as a row about an account outside the user's scope has."""
    lang = st.query_params.get("lang")
    tail = "&" + urllib.parse.urlencode({"lang": lang}) if lang else ""
    quote = urllib.parse.quote_plus
    return [f"account?{QUERY_KEY}={quote(str(c))}{tail}" if str(c) else None for c in ids]


def link_column(ctx, width: str | None = "small") -> st.column_config.LinkColumn:
    return st.column_config.LinkColumn(ctx.t("acct.link"), display_text=ctx.t("acct.open"),
                                       help=ctx.t("acct.link.help"), width=width)


def with_links(ctx, table: pd.DataFrame, ids, config: dict | None = None,
               after: str | None = None) -> tuple[pd.DataFrame, dict]:
    """``table`` with a column linking each row's account to its 360 page, placed right after
    the column ``after`` (default: the account name column, else first), and the column_config
    for it (merged into ``config``)."""
    out = table.copy()
    after = after or ctx.t("col.customer")
    pos = list(out.columns).index(after) + 1 if after in out.columns else 0
    out.insert(pos, ctx.t("acct.link"), urls(ids))
    return out, {**(config or {}), ctx.t("acct.link"): link_column(ctx)}


def _names(ctx, links: pd.DataFrame) -> dict:
    return {c: words.display_name(ctx, n, z, c) for c, n, z in
            zip(links["customer_id"], links["name"], links["name_zh"])}


def _as_id(value) -> str | None:
    """An account id from the picker's value or the URL. The picker shows "name · id"; a value
    kept as that text (as Streamlit keeps a choice across a language switch) gives its id."""
    if not value:
        return None
    text = str(value)
    return text.rsplit(" · ", 1)[1] if " · " in text else text


def _sync_query() -> None:
    cid = _as_id(st.session_state.get(PICK_KEY))
    if cid:
        st.query_params[QUERY_KEY] = cid
    elif QUERY_KEY in st.query_params:
        del st.query_params[QUERY_KEY]


def pick(ctx) -> str | None:
    """The account chosen by search on name or id (or given in the URL as ?customer=ID)."""
    links = data.customer_links(ctx.data_key)
    names = _names(ctx, links)
    wanted = _as_id(st.query_params.get(QUERY_KEY))
    if wanted and wanted != st.query_params.get(QUERY_KEY):
        st.query_params[QUERY_KEY] = wanted
    if ctx.filters.scope is not None:  # only the user's accounts can be picked or linked to
        names = {c: n for c, n in names.items() if ctx.sees(c)}
        if wanted and wanted not in names:
            st.warning(ctx.t("auth.not_yours", id=safe.md(wanted)))
            return None
    lang_changed = st.session_state.get("kamdash.account_lang", ctx.lang) != ctx.lang
    st.session_state["kamdash.account_lang"] = ctx.lang
    if wanted in names and (lang_changed or st.session_state.get(PICK_KEY) != wanted):
        st.session_state[PICK_KEY] = wanted  # handed back: shown in the current language
    kw = {} if PICK_KEY in st.session_state else {"index": None}
    cid = st.selectbox(ctx.t("acct.pick"), list(names), key=PICK_KEY, on_change=_sync_query,
                       format_func=lambda c: f"{names.get(c, c)} · {c}", placeholder=ctx.t("acct.pick.placeholder"),
                       help=ctx.t("acct.pick.help"), **kw)
    if wanted and wanted not in names:
        st.warning(ctx.t("acct.unknown", id=safe.md(wanted)))
    cid = _as_id(cid)
    return cid if cid in names else None


# ---------------------------------------------------------------- the 360 view


def user_db():
    return config.user_db_path(config.db_path())


@st.cache_data(show_spinner=False, max_entries=16)
def period_facts(data_key, start, end, scope=None):
    return view.period_facts(data.engine(), start, end, scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _account(data_key, customer_id: str, start, end, cutoffs, assignment_sig, fit_key, _fit, as_of,
             scope=None):
    facts = period_facts(data_key, start, end, scope)
    links = data.customer_links(data_key)
    value = view.account_value(data.engine(), _fit, customer_id, as_of) if _fit is not None else None
    return view.build(data.engine(), customer_id, facts, links, start, end, data.assignment(), cutoffs, value,
                      scope)


@st.cache_data(show_spinner=False, max_entries=8)
def _fit(data_key, user_sig, facts: dict):
    return view.stored_fit(user_db(), facts)


def account(ctx, customer_id: str) -> view.AccountView | None:
    """The account's 360 data, cached by what it depends on (data version, period, tier
    cut-offs, the stored assignment's content, the stored fit): saving a plan does not
    recompute it."""
    f = ctx.filters
    fit, fs = _fit(ctx.data_key, data.user_signature(), ctx.facts)
    fit_key = fs.key(ctx.facts["data_version"]) if fs else None
    assigned = data.assignment()
    sig = int(pd.util.hash_pandas_object(assigned, index=False).sum()) if len(assigned) else 0
    if not ctx.sees(customer_id):
        return None
    return _account(ctx.data_key, customer_id, f.start, f.end, data.tier_cutoffs(), sig, fit_key, fit,
                    ctx.facts["as_of"], f.scope)


def profile(ctx, v: view.AccountView) -> None:
    name = words.display_name(ctx, v.profile["name"], v.profile["name_zh"], v.customer_id)
    st.subheader(safe.md(name))
    st.caption(ctx.t("acct.period", start=ctx.t_month(v.period[0]), end=ctx.t_month(v.period[1])))
    kpis = words.kpi_items(ctx, v)
    for row in range(0, len(kpis), 3):
        for col, (label, value) in zip(st.columns(3), kpis[row:row + 3]):
            col.metric(label, value, border=True)
        if row == 0:  # right under the revenue and profit cards
            components.coverage_note(ctx)
    if v.value is not None and words.clv_shown(v.value) < 0:
        st.warning(ctx.t("acct.clv_negative", amount=ctx.money(-words.clv_shown(v.value))))
    items = words.profile_items(ctx, v)
    cols = st.columns(3)
    for i, (label, text) in enumerate(items):
        cols[i % 3].markdown(f"**{label}:** {safe.md(text)}")
    notes = []
    if v.ka_types is None or v.segment is None:
        notes.append(ctx.t("acct.assignment_missing"))
    if v.value is None:  # no fit, or none possible: no purchase days when the lines stay at the source
        notes.append(ctx.t("lines.at_source.account_value", source=ctx.facts.get("source", ""))
                     if lines.at_source(ctx.facts) else ctx.t("acct.clv_missing"))
    for n in notes:
        st.info(n)


def loss_causes(ctx, v: view.AccountView) -> None:
    """Why a loss-making account loses money: profit at its peers' rates, minus each cause, to
    its account profit (chart and sentence, the same figures)."""
    if v.causes is None:
        return
    st.markdown(f"**{ctx.t('acct.loss.header')}**")
    components.chart(ctx, words.cause_figure(ctx, v), "acct_loss_causes", "kamdash-account-loss-causes")
    st.markdown(words.cause_sentence(ctx, v.causes))
    st.caption(ctx.t("acct.loss.caption"))


def history_and_mix(ctx, v: view.AccountView) -> None:
    if len(v.monthly):
        components.chart(ctx, words.timeline_figure(ctx, v), "acct_timeline", "kamdash-account-timeline")
        st.caption(ctx.t("acct.timeline.caption"))
    left, right = st.columns(2)
    if lines.note(ctx, "product_mix", where=left):
        pass
    elif len(v.mix):
        components.chart(ctx, words.mix_figure(ctx, v), "acct_mix", "kamdash-account-product-mix", where=left)
    else:
        left.info(ctx.t("acct.mix.none"))
    if len(v.costs):
        components.chart(ctx, words.cost_figure(ctx, v), "acct_costs", "kamdash-account-cost-to-serve", where=right)
    else:
        right.info(ctx.t("acct.costs.none"))


def network(ctx, v: view.AccountView) -> None:
    for kind, members in (("group", v.children), ("referrals", v.referrals)):
        st.markdown(f"**{ctx.t(f'acct.{kind}')}**")
        st.caption(words.chain_sentence(ctx, members, kind))
        if note := words.outside_note(ctx, v, kind):
            st.caption(note)
        if len(members):
            table, cfg = with_links(ctx, words.chain_table(ctx, members), members["customer_id"])
            st.dataframe(table, hide_index=True, width="stretch", column_config=cfg, key=f"acct_{kind}")
    st.markdown(f"**{ctx.t('acct.peers')}**")
    st.caption(ctx.t(f"acct.peers.{v.peer_basis}"))
    st.dataframe(words.peers_table(ctx, v.peers), hide_index=True, width="stretch", key="acct_peers")


# ---------------------------------------------------------------- the plan editor


def _state(cid: str) -> dict:
    """The editor's state for this account: base (version the edit started from), body shown,
    nonce (changes when the editor is reloaded, giving its widgets fresh keys)."""
    key = f"kamdash.plan.{cid}"
    if key not in st.session_state:
        cur = plans.latest(user_db(), cid)
        st.session_state[key] = {"base": cur.version if cur else None,
                                 "body": cur.body if cur else plans.normalise({}), "nonce": 0}
    return st.session_state[key]


def _load(cid: str, version: int | None, body: dict) -> None:
    s = _state(cid)
    s.update(base=version, body=plans.normalise(body), nonce=s["nonce"] + 1)


def _goal_frame(body: dict) -> pd.DataFrame:
    rows = [{"metric": g["metric"],
             "target": (g["target"] * 100 if g["metric"] in view.MARGIN_METRICS and g["target"] is not None
                        else g["target"]),
             "category": g["category"], "start": date.fromisoformat(g["start"]) if g["start"] else None,
             "due": date.fromisoformat(g["due"])} for g in body["goals"]]
    return pd.DataFrame(rows, columns=["metric", "target", "category", "start", "due"]).astype(
        {"target": "float64", "start": "object", "due": "object"})


def _action_frame(body: dict) -> pd.DataFrame:
    rows = [{**a, "due": date.fromisoformat(a["due"]) if a["due"] else None} for a in body["actions"]]
    return pd.DataFrame(rows, columns=["action", "owner", "due", "status"]).astype({"due": "object"})


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


@st.cache_data(show_spinner=False, max_entries=4)
def _categories(data_key) -> list[str]:
    return data.engine().product_categories()


def editor(ctx, cid: str, author: str) -> None:
    """The plan form of an account: goals, tailored solution, actions, notes; Save / Delete."""
    categories = _categories(ctx.data_key)
    s = _state(cid)
    cur = plans.latest(user_db(), cid)
    latest = cur.version if cur else None
    if latest != s["base"] and f"kamdash.plan_conflict.{cid}" not in st.session_state:
        who = cur.author if cur else ""
        msg = ctx.t("acct.plan.newer", version=latest, author=safe.md(who or "—")) if cur else ctx.t("acct.plan.deleted")
        st.warning(msg)
        if st.button(ctx.t("acct.plan.load_latest"), key="plan_load_latest"):
            _load(cid, latest, cur.body if cur else {})
            st.rerun()
    base = s["base"]
    st.caption(ctx.t("acct.plan.editing", version=base) if base else ctx.t("acct.plan.new"))
    n = f"{cid}.{s['nonce']}"
    metric_label = lambda m: ctx.t(f"acct.metric.{m}")  # noqa: E731
    status_label = lambda a: ctx.t(f"acct.action.{a}")  # noqa: E731
    with st.form(f"plan_form.{n}", border=True):
        st.markdown(f"**{ctx.t('acct.goals')}**")
        st.caption(ctx.t("acct.goals.help"))
        goals = st.data_editor(_goal_frame(s["body"]), num_rows="dynamic", key=f"plan_goals.{n}", hide_index=True,
                               width="stretch", column_config={
            "metric": st.column_config.SelectboxColumn(ctx.t("acct.col.goal"), options=list(plans.METRICS),
                                                       format_func=metric_label, required=True),
            "target": st.column_config.NumberColumn(ctx.t("acct.col.target"), help=ctx.t("acct.target.help")),
            "category": st.column_config.SelectboxColumn(ctx.t("acct.col.category"), options=categories,
                                                         format_func=lambda c: ctx.label("category", c)),
            "start": st.column_config.DateColumn(ctx.t("acct.col.start"), help=ctx.t("acct.start.help")),
            "due": st.column_config.DateColumn(ctx.t("acct.col.due"), required=True)})
        solution = st.text_area(ctx.t("acct.solution"), s["body"]["solution"], key=f"plan_solution.{n}",
                                help=ctx.t("acct.solution.help"))
        st.markdown(f"**{ctx.t('acct.actions')}**")
        actions = st.data_editor(_action_frame(s["body"]), num_rows="dynamic", key=f"plan_actions.{n}",
                                 hide_index=True, width="stretch", column_config={
            "action": st.column_config.TextColumn(ctx.t("acct.col.action"), required=True, width="large"),
            "owner": st.column_config.TextColumn(ctx.t("acct.col.owner")),
            "due": st.column_config.DateColumn(ctx.t("acct.col.due")),
            "status": st.column_config.SelectboxColumn(ctx.t("acct.col.action_status"), options=list(plans.ACTION_STATUSES),
                                                       format_func=status_label, default="open")})
        notes = st.text_area(ctx.t("acct.notes"), s["body"]["notes"], key=f"plan_notes.{n}")
        why_not = allowed.plan(ctx, cid)
        save = st.form_submit_button(ctx.t("acct.plan.save"), type="primary",
                                     disabled=not author or why_not is not None, help=why_not)
    if why_not is not None:
        st.caption(why_not)
    elif not author:
        st.info(ctx.t("acct.plan.need_author"))
    if save:
        goal_rows = _records(goals)
        for g in goal_rows:
            if g.get("metric") in view.MARGIN_METRICS and g.get("target") is not None:
                g["target"] = g["target"] / 100
        problems = plans.goal_problems(goal_rows, categories)
        if problems:  # nothing is saved; the form keeps what was typed
            st.error(ctx.t("acct.goal.invalid") + "\n\n" + "\n".join(
                "- " + ctx.t(f"acct.goal.problem.{what}", row=row) for row, what in problems))
        else:
            _save(ctx, cid, {"goals": goal_rows, "solution": solution, "actions": _records(actions),
                             "notes": notes}, author, base)
    if latest is not None and latest == base and why_not is None:
        with st.popover(ctx.t("acct.plan.delete"), icon=":material/delete:"):
            st.write(ctx.t("acct.plan.delete_confirm"))
            if st.button(ctx.t("acct.plan.delete_yes"), key="plan_delete", type="primary"):
                try:
                    plans.delete(user_db(), cid, base, actor=data.actor())
                    _load(cid, None, {})
                    st.toast(ctx.t("acct.plan.deleted_ok"))
                except plans.PlanConflict as err:
                    st.session_state[f"kamdash.plan_conflict.{cid}"] = {"mine": s["body"], "theirs": err.theirs,
                                                                       "base": base}
                except access.AccessDenied as exc:
                    data.refuse(exc)
                st.rerun()


def _save(ctx, cid: str, body: dict, author: str, base: int | None) -> None:
    try:
        saved = plans.save(user_db(), cid, body, author, base, actor=data.actor())
    except access.AccessDenied as exc:
        data.refuse(exc)
    except plans.PlanConflict as err:
        st.session_state[f"kamdash.plan_conflict.{cid}"] = {"mine": plans.normalise(body), "theirs": err.theirs,
                                                           "base": base}
        st.rerun()
        return
    _load(cid, saved.version, saved.body)
    st.session_state["kamdash.plan_saved"] = saved.version
    st.rerun()


def saved_note(ctx) -> None:
    v = st.session_state.pop("kamdash.plan_saved", None)
    if v:
        st.success(ctx.t("acct.plan.saved", version=v))


def _summary(ctx, body: dict, changed: tuple) -> str:
    """A plan body as markdown; fields in ``changed`` marked."""
    mark = lambda f: " ✱" if f in changed else ""  # noqa: E731
    goals, acts = [], []
    for g in body["goals"]:
        target = words._target_text(ctx, g["metric"], g["target"], g["category"])
        metric = g["metric"]
        goals.append(f"- {ctx.t(f'acct.metric.{metric}')}: {safe.md(target)} ({ctx.t('acct.col.due')} "
                     f"{safe.md(g['due'])})")
    for a in body["actions"]:
        status = a["status"]
        status = ctx.t(f"acct.action.{status}")
        acts.append(f"- {safe.md(a['action'])} · {safe.md(a['owner'] or '—')} · {safe.md(a['due'] or '—')} · {status}")
    parts = [f"**{ctx.t('acct.goals')}{mark('goals')}**", "\n".join(goals) or "—",
             f"**{ctx.t('acct.solution')}{mark('solution')}**", safe.md(body["solution"] or "—"),
             f"**{ctx.t('acct.actions')}{mark('actions')}**", "\n".join(acts) or "—",
             f"**{ctx.t('acct.notes')}{mark('notes')}**", safe.md(body["notes"] or "—")]
    return "\n\n".join(parts)


def conflict(ctx, cid: str, author: str) -> bool:
    """When the last save was refused: both versions side by side and the three ways out.
    True while a conflict is shown (the editor is hidden then)."""
    key = f"kamdash.plan_conflict.{cid}"
    c = st.session_state.get(key)
    if c is None:
        return False
    theirs = c["theirs"]
    st.error(ctx.t("acct.conflict", author=safe.md(theirs.author or "—"), version=theirs.version,
                   time=theirs.saved_at.strftime("%Y-%m-%d %H:%M UTC")) if theirs else ctx.t("acct.conflict_deleted"))
    tbody = theirs.body if theirs else plans.normalise({})
    changed = plans.changed_fields(c["mine"], tbody)
    left, right = st.columns(2)
    with left.container(border=True):
        st.markdown(f"#### {ctx.t('acct.conflict.theirs')}")
        st.markdown(_summary(ctx, tbody, changed))
    with right.container(border=True):
        st.markdown(f"#### {ctx.t('acct.conflict.mine')}")
        st.markdown(_summary(ctx, c["mine"], changed))
    st.caption(ctx.t("acct.conflict.changed", fields=", ".join(ctx.t(f"acct.field.{f}") for f in changed) or "—"))
    b1, b2, b3 = st.columns(3)
    latest = theirs.version if theirs else None
    why_not = allowed.plan(ctx, cid)
    if b1.button(ctx.t("acct.conflict.keep_mine"), key="conflict_mine", type="primary",
                 disabled=not author or why_not is not None, help=why_not):
        del st.session_state[key]
        _load(cid, latest, c["mine"])
        _save(ctx, cid, c["mine"], author, latest)
    if b2.button(ctx.t("acct.conflict.take_theirs"), key="conflict_theirs"):
        del st.session_state[key]
        _load(cid, latest, tbody)
        st.rerun()
    if b3.button(ctx.t("acct.conflict.merge"), key="conflict_merge", help=ctx.t("acct.conflict.merge.help")):
        base_body = plans.version(user_db(), cid, c["base"]) if c["base"] else None
        merged, clashes = plans.merge(base_body.body if base_body else None, c["mine"], tbody)
        del st.session_state[key]
        _load(cid, latest, merged)
        if clashes:
            st.session_state["kamdash.plan_clashes"] = clashes
        st.rerun()
    return True


def clashes_note(ctx) -> None:
    clashes = st.session_state.pop("kamdash.plan_clashes", None)
    if clashes:
        st.warning(ctx.t("acct.conflict.clashes", fields=", ".join(ctx.t(f"acct.field.{f}") for f in clashes)))


def _styled(ctx, table: pd.DataFrame):
    """The table with its status column coloured (green on track, amber at risk, red off track)."""
    col = ctx.t("acct.col.status")
    return table.style.map(lambda v: words.status_color(ctx, v), subset=[col]) if col in table else table


def plan_and_progress(ctx, cid: str) -> tuple:
    """(current plan, its goals against actuals) or (None, None) when the account has none."""
    hist = plans.history(user_db(), cid)
    if not hist:
        return None, None
    prog = view.progress(data.engine(), hist[0].body, cid, ctx.facts["as_of"], hist[-1].saved_at.date())
    return hist[0], prog


def tracking(ctx, cid: str) -> None:
    """Plan vs actual of the saved plan: goals table, revenue goal chart, the method."""
    cur, prog = plan_and_progress(ctx, cid)
    if cur is None:
        return
    st.caption(ctx.t("acct.plan.current", version=cur.version, author=safe.md(cur.author or "—"),
                     time=cur.saved_at.strftime("%Y-%m-%d %H:%M UTC")))
    if cur.renamed:
        st.info(ctx.t("acct.plan.renamed_margin", n=cur.renamed))
    if lines.note(ctx, "plan_actuals"):
        st.divider()
        return
    status = view.plan_status(prog)
    color = {"on_track": "green", "at_risk": "orange", "off_track": "red"}.get(status, "gray")
    st.markdown(f"**{ctx.t('acct.tracking')}** · :{color}[**{words.status_text(ctx, status)}**]")
    if len(prog):
        table = words.progress_table(ctx, prog)
        st.dataframe(_styled(ctx, table), hide_index=True, width="stretch", key="acct_progress")
        rev = prog[(prog["metric"] == "revenue") & prog["target"].notna() & (prog["status"] != "not_started")]
        if len(rev):
            from kamdash.charts import account as charts

            labels = {"title": ctx.t("acct.goal_chart"), "actual": ctx.t("acct.col.actual"),
                      "projected": ctx.t("acct.col.projected"), "target": ctx.t("acct.col.target"),
                      "goals": [f"{ctx.t('acct.metric.revenue')} · {i18n.fmt_date(d, ctx.lang)}" for d in rev["due"]]}
            components.chart(ctx, charts.goal_bars(rev, labels, ctx.lang), "acct_goal_chart", "kamdash-account-goals")
    else:
        st.info(ctx.t("acct.no_goals"))
    st.caption(ctx.t("acct.projection_method", as_of=i18n.fmt_date(ctx.facts["as_of"], ctx.lang)))
    st.divider()


def history(ctx, cid: str) -> None:
    hist = plans.history(user_db(), cid)
    if not hist:
        st.info(ctx.t("acct.history.none"))
        return
    table = pd.DataFrame({
        ctx.t("acct.col.version"): [h.version for h in hist],
        ctx.t("acct.col.author"): [h.author or "—" for h in hist],
        ctx.t("acct.col.saved_at"): [h.saved_at.strftime("%Y-%m-%d %H:%M UTC") for h in hist],
        ctx.t("acct.col.changed"): [", ".join(ctx.t(f"acct.field.{f}") for f in plans.changed_fields(
            hist[i + 1].body if i + 1 < len(hist) else {}, h.body)) or "—" for i, h in enumerate(hist)]})
    st.dataframe(table, hide_index=True, width="stretch", key="plan_history")
    pickv = st.selectbox(ctx.t("acct.history.view"), [h.version for h in hist], key=f"plan_version.{cid}")
    chosen = next(h for h in hist if h.version == pickv)
    with st.container(border=True):
        st.markdown(_summary(ctx, chosen.body, ()))
    if chosen.version != hist[0].version and st.button(ctx.t("acct.history.restore"), key="plan_restore"):
        _load(cid, hist[0].version, chosen.body)
        st.session_state["kamdash.plan_restored"] = chosen.version
        st.rerun()
    v = st.session_state.pop("kamdash.plan_restored", None)
    if v:
        st.success(ctx.t("acct.history.restored", version=v))


# ---------------------------------------------------------------- one-pager


def downloads(ctx, v: view.AccountView) -> None:
    """PDF and PPTX one-pager of the account (with its plan) in the current language (rendered
    by kamdash.deck, the app's deck exporter)."""
    try:
        from kamdash import deck
    except ImportError:  # a build without the deck exporter (python-pptx / kaleido) cannot export
        st.info(ctx.t("acct.export.unavailable"))
        return

    name = words.display_name(ctx, v.profile["name"], v.profile["name_zh"], v.customer_id)
    if st.button(ctx.t("acct.export.prepare"), key="acct_export", icon=":material/slideshow:"):
        try:
            with st.spinner(ctx.t("acct.export.building")):
                plan, progress = plan_and_progress(ctx, v.customer_id)
                from kamdash.ui import my_accounts as my_accounts_ui  # it imports this module

                slides = words.one_pager_slides(ctx, v, plan, progress, my_accounts_ui.account_health(ctx, v.customer_id))
                meta = dict(title=ctx.t("acct.export.title", name=name), subtitle="", lang=ctx.lang, cover=False)
                st.session_state["kamdash.one_pager"] = (v.customer_id, ctx.lang, deck.to_pdf(slides, notes=False, **meta),
                                                         deck.to_pptx(slides, **meta))
        except Exception as e:  # noqa: BLE001 - a failed export is said, the page stays usable
            st.error(ctx.t("present.export_failed", detail=str(e) or type(e).__name__))
    ready = st.session_state.get("kamdash.one_pager")
    if ready and ready[:2] == (v.customer_id, ctx.lang):
        c1, c2 = st.columns(2)
        fname = f"kamdash-account-{v.customer_id}"
        c1.download_button(ctx.t("acct.export.pdf"), ready[2], f"{fname}.pdf", "application/pdf", key="acct_pdf",
                           icon=":material/picture_as_pdf:")
        c2.download_button(ctx.t("acct.export.pptx"), ready[3], f"{fname}.pptx",
                           "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                           key="acct_pptx", icon=":material/slideshow:")


# ---------------------------------------------------------------- portfolio of plans


@st.cache_data(show_spinner=False, max_entries=16)
def _portfolio(data_key, user_sig, as_of, lang):
    latest = plans.all_latest(user_db())
    first = plans.first_saved(user_db())
    return view.portfolio(data.engine(), latest, first, as_of, data.customer_links(data_key), data.assignment())


def portfolio(ctx) -> pd.DataFrame:
    """The plans portfolio: the plans of the accounts in the user's scope."""
    table = _portfolio(ctx.data_key, data.user_signature(), ctx.facts["as_of"], ctx.lang)
    if ctx.filters.scope is None:
        return table
    return table[table["customer_id"].astype(str).isin(set(ctx.filters.scope))].reset_index(drop=True)


def portfolio_filters(ctx, table: pd.DataFrame) -> pd.DataFrame:
    c1, c2, c3 = st.columns(3)
    owners = c1.multiselect(ctx.t("acct.pf.owner"), sorted(table["account_manager"].dropna().unique()),
                            key="plans_owner", format_func=lambda v: ctx.label("account_manager", v),
                            placeholder=ctx.t("filters.all"))
    kas = c2.multiselect(ctx.t("filters.ka_type"), list(view.KA_TYPES), key="plans_ka",
                         format_func=lambda v: ctx.t(f"ka.type.{v}"), placeholder=ctx.t("filters.all"))
    statuses = c3.multiselect(ctx.t("acct.col.status"), [*view.STATUSES[1:4], "not_started", "no_goals"],
                              key="plans_status", format_func=lambda v: words.status_text(ctx, v),
                              placeholder=ctx.t("filters.all"))
    if kas and not len(data.assignment()):
        st.info(ctx.t("acct.assignment_missing"))
    return view.filter_portfolio(table, owners, kas, statuses)


def portfolio_counts(ctx, table: pd.DataFrame) -> None:
    counts = table["status"].value_counts()
    for col, s in zip(st.columns(4), ("on_track", "at_risk", "off_track", "not_started")):
        col.metric(words.status_text(ctx, s), i18n.fmt_number(int(counts.get(s, 0)), ctx.lang), border=True)


def portfolio_table(ctx, table: pd.DataFrame) -> None:
    shown = pd.DataFrame({
        ctx.t("col.customer"): [words.display_name(ctx, n, z, c) for n, z, c in
                                zip(table["name"], table["name_zh"], table["customer_id"])],
        ctx.t("acct.owner"): [ctx.label("account_manager", v) for v in table["account_manager"]],
        ctx.t("filters.ka_type"): [ctx.t("seg.name.sep").join(ctx.t(f"ka.type.{k}") for k in (v if isinstance(v, str) else "").split(",") if k)
                                   for v in table["ka_types"]],
        ctx.t("acct.col.status"): [words.status_text(ctx, s) for s in table["status"]],
        ctx.t("acct.col.goals"): table["goals"].astype(int),
        **{words.status_text(ctx, s): table[f"n_{s}"].astype(int) for s in ("on_track", "at_risk", "off_track")},
        ctx.t("acct.col.version"): table["version"].astype(int),
        ctx.t("acct.col.author"): table["author"],
        ctx.t("acct.col.saved_at"): [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M") for t in table["saved_at"]],
    })
    shown, cfg = with_links(ctx, shown, table["customer_id"])
    st.dataframe(_styled(ctx, shown), hide_index=True, width="stretch", column_config=cfg, key="plans_table")


# ---------------------------------------------------------------- overdue actions, unplanned key accounts


def overdue_section(ctx) -> None:
    """Overdue actions of the current plans, per owner (with the full list below)."""
    from kamdash import export
    from kamdash.ui import components
    from kamdash.views import plans_portfolio as pp

    st.subheader(ctx.t("plans.overdue"))
    overdue = pp.overdue_actions(plans.all_latest(user_db()), ctx.facts["as_of"])
    if overdue.empty:
        st.caption(ctx.t("plans.overdue.none", as_of=i18n.fmt_date(ctx.facts["as_of"], ctx.lang)))
        return
    by_owner = pp.overdue_by_owner(overdue)
    nobody = ctx.t("plans.overdue.no_owner")
    components.table(ctx, export.frame([
        (ctx.t("acct.col.owner"), "text", [o or nobody for o in by_owner["owner"]]),
        (ctx.t("plans.col.overdue_actions"), "int", by_owner["actions"]),
        (ctx.t("plans.col.accounts"), "int", by_owner["accounts"]),
        (ctx.t("plans.col.oldest_due"), "date", by_owner["oldest_due"]),
        (ctx.t("plans.col.days_overdue"), "int", by_owner["most_days_overdue"]),
    ], ctx.currency), "plans_overdue_owner", "kamdash-overdue-by-owner")
    links = data.customer_links(ctx.data_key)
    names = _names(ctx, links)
    with st.expander(ctx.t("plans.overdue.list", n=i18n.fmt_number(len(overdue), ctx.lang))):
        components.table(ctx, export.frame([
            (ctx.t("acct.col.owner"), "text", [o or nobody for o in overdue["owner"]]),
            (ctx.t("col.customer_id"), "id", overdue["customer_id"]),
            (ctx.t("col.customer"), "text", [names.get(c, c) for c in overdue["customer_id"]]),
            (ctx.t("acct.col.action"), "text", overdue["action"]),
            (ctx.t("acct.col.due"), "date", overdue["due"]),
            (ctx.t("plans.col.days_overdue"), "int", overdue["days_overdue"]),
            (ctx.t("acct.col.action_status"), "text", [ctx.t(f"acct.action.{s}") for s in overdue["status"]]),
        ], ctx.currency), "plans_overdue", "kamdash-overdue-actions", ids=overdue["customer_id"])


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def _unplanned(data_key, filters, user_sig, planned: tuple, _assignment):
    """The key accounts without a plan (cached by data version, filters and the user database,
    which holds the plans and the assignment)."""
    from kamdash.views import plans_portfolio as pp

    return pp.unplanned(data.engine(), filters, _assignment, list(planned))


def unplanned_section(ctx) -> None:
    """Key accounts (stored assignment) that have no plan yet, largest revenue first."""
    from kamdash import export
    from kamdash.ui import components

    st.subheader(ctx.t("plans.unplanned"))
    assignment = data.assignment()
    if not len(assignment):
        st.info(ctx.t("acct.assignment_missing"))
        return
    planned = tuple(p.customer_id for p in plans.all_latest(user_db()))
    t = _unplanned(ctx.data_key, ctx.filters, data.user_signature(), planned, assignment)
    if t.empty:
        st.success(ctx.t("plans.unplanned.none"))
        return
    st.caption(ctx.t("plans.unplanned.caption", n=i18n.fmt_number(len(t), ctx.lang)))
    sep = ctx.t("seg.name.sep")
    components.table(ctx, export.frame([
        (ctx.t("col.customer_id"), "id", t["customer_id"]),
        (ctx.t("col.customer"), "text", [words.display_name(ctx, n, z, c) for n, z, c in
                                         zip(t["name"], t["name_zh"], t["customer_id"])]),
        (ctx.t("filters.ka_type"), "text", [sep.join(ctx.t(f"ka.type.{k}") for k in v.split(",") if k)
                                             for v in t["ka_types"]]),
        (ctx.t("col.account_manager"), "text", [ctx.label("account_manager", v) if v else "" for v in t["account_manager"]]),
        (ctx.t("col.revenue"), "money", t["revenue"]),
        (ctx.t("col.account_profit"), "money", t["account_profit"]),
    ], ctx.currency), "plans_unplanned", "kamdash-key-accounts-without-plan", ids=t["customer_id"], height=280)
