"""Account 360 in a real browser: open an account from the overview's top-accounts list (click
its link), edit its plan, save, reload and find it again; English and Chinese screenshots."""

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from kamdash import config, plans
from tests.e2e.test_concentration import shoot
from tests.e2e.test_journey import WAIT, wait_idle

SEED = {"goals": [{"metric": "revenue", "target": 1_000_000, "start": "2026-01-01", "due": "2026-12-31"},
                  {"metric": "gross_margin", "target": 0.25, "start": "2026-01-01", "due": "2026-12-31"},
                  {"metric": "account_margin", "target": 0.15, "start": "2026-01-01", "due": "2026-12-31"}],
        "solution": "Seeded solution",
        "actions": [{"action": "Quarterly business review", "owner": "Li Na", "due": "2026-10-15",
                     "status": "open"}],
        "notes": ""}


def open_plan_tab(page: Page, name: str = "Account plan") -> None:
    page.get_by_role("tab", name=name).click()
    wait_idle(page)


def test_open_account_from_list_edit_plan_save_reload(server, page: Page, demo_db, artifacts):
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Top 10 accounts by revenue")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    grid = page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    # the grid is a canvas: the "Open" link of the first row sits in the column after "#" (drawn
    # about 63 px wide) and "Account" (about 192 px), below the 35 px header
    x, y = box["x"] + 63 + 192 + 35, box["y"] + 35 + 17
    page.mouse.move(x, y)  # the grid shows the link under the pointer first
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "account-link.png"))
    with page.context.expect_page(timeout=WAIT) as opened:
        page.mouse.click(x, y)
    acct = opened.value
    acct.set_viewport_size({"width": 1440, "height": 1000})
    expect(acct.get_by_role("heading", name="Account 360")).to_be_visible(timeout=WAIT)
    cid = parse_qs(urlparse(acct.url).query)["customer"][0]
    assert re.fullmatch(r"C\d+", cid)
    expect(acct.get_by_text(f"ID: {cid}")).to_be_visible(timeout=WAIT)
    wait_idle(acct)
    expect(acct.get_by_test_id("stMetricValue").filter(has_text="#1")).to_be_visible(timeout=WAIT)
    expect(acct.locator(".js-plotly-plot").nth(2)).to_be_visible(timeout=WAIT)  # timeline, mix, costs
    wait_idle(acct)
    shoot(acct, artifacts / "account-en.png")

    # someone saved version 1 of this account's plan (with goals) before us
    udb = config.user_db_path(demo_db)
    base = plans.latest(udb, cid)
    plans.save(udb, cid, SEED, "Seed", base.version if base else None)
    acct.reload()
    expect(acct.get_by_role("heading", name="Account 360")).to_be_visible(timeout=WAIT)
    name_box = acct.get_by_role("textbox", name="Your name")
    name_box.fill("E2E Tester")
    name_box.press("Enter")
    wait_idle(acct)
    open_plan_tab(acct)
    expect(acct.get_by_text("Plan vs actual")).to_be_visible(timeout=WAIT)
    solution = acct.get_by_role("textbox", name="Tailored solution")
    expect(solution).to_have_value("Seeded solution")
    solution.fill("Bundle safety equipment with a service contract")
    acct.get_by_role("button", name="Save plan").click()
    expect(acct.get_by_text(re.compile(r"Plan saved as version \d+\."))).to_be_visible(timeout=WAIT)
    version = plans.latest(udb, cid).version
    assert plans.latest(udb, cid).author == "E2E Tester"
    shoot(acct, artifacts / "account-plan-en.png")

    # reload: the saved plan comes back from the database
    acct.reload()
    expect(acct.get_by_role("heading", name="Account 360")).to_be_visible(timeout=WAIT)
    open_plan_tab(acct)
    expect(acct.get_by_role("textbox", name="Tailored solution")).to_have_value(
        "Bundle safety equipment with a service contract", timeout=WAIT)
    expect(acct.get_by_text(f"Current plan: version {version}, saved by E2E Tester")).to_be_visible()

    acct.get_by_role("radio", name="简体中文").click()
    expect(acct.get_by_role("heading", name="客户360视图")).to_be_visible(timeout=WAIT)
    wait_idle(acct)
    shoot(acct, artifacts / "account-zh.png")
    open_plan_tab(acct, "客户计划")
    expect(acct.get_by_text("计划与实际对比")).to_be_visible(timeout=WAIT)
    shoot(acct, artifacts / "account-plan-zh.png")
    acct.get_by_role("link", name="客户计划").click()
    expect(acct.get_by_role("heading", name="客户计划")).to_be_visible(timeout=WAIT)
    wait_idle(acct)
    shoot(acct, artifacts / "plans-zh.png")
