"""Why the acting user may not press a button that changes something (None: they may).

The rules themselves live in ``kamdash.access`` (``Actor``) and are enforced where things are
written; a page uses these answers to draw such a button disabled with the reason as its help
text, so a viewer or a manager is not offered a change that would be refused. Single-user mode
acts with full access: every answer is None there.
"""

from __future__ import annotations

from kamdash import i18n
from kamdash.ui import auth


def _role(ctx) -> str:
    return i18n.t(f"auth.role.{auth.actor().role}", ctx.lang)


def settings(ctx) -> str | None:
    """Shared settings (tier cut-offs, segment names, key-account rules, slide order, health
    weights): directors and admins."""
    if auth.actor().can_edit_settings:
        return None
    return i18n.t("team.no_settings", ctx.lang, role=_role(ctx))


def plan(ctx, customer_id: str) -> str | None:
    """An account's plan: its managers (their scope), directors and admins."""
    if auth.actor().can_edit_plan(customer_id):
        return None
    return i18n.t("team.no_plan", ctx.lang, role=_role(ctx))


def scenario(ctx, owner: str | None = None) -> str | None:
    """A new scenario (``owner`` None): anyone but a viewer; deleting one: its author, a
    director or an admin."""
    a = auth.actor()
    if a.can_save_scenario(owner):
        return None
    if a.reads_only or owner is None:
        return i18n.t("team.no_scenario", ctx.lang, role=_role(ctx))
    return i18n.t("team.not_your_scenario", ctx.lang, role=_role(ctx), owner=owner or "—")
