"""A light Streamlit client: one browser session spoken over the websocket, without a browser.

It does what the browser's JavaScript does for the server, no more: call the health check (the
server sets its XSRF cookie there), open ``/_stcore/stream`` with the ``streamlit`` subprotocol and
the XSRF token, send ``BackMsg.rerun_script`` with the page and the widget states, and read
the ``ForwardMsg`` stream (protobufs shipped with the streamlit package) until the run ends.
Each run reports when the first chart arrived, every widget the page drew (by its key, with
its options) and every error shown (an exception, or an alert of the error kind).

Team mode: ``signed_user_cookie`` makes the identity cookie that Streamlit's ``st.login`` sets
after an OpenID Connect sign-in (a JSON payload signed with itsdangerous under the
``cookie_secret`` of the server's secrets, salted with the cookie name); the server verifies
the signature, its age and the origin on every connection, so this is a real signed-in
session for whoever holds the secret (the load test writes the secrets file itself), and a
forged, tampered or expired cookie is refused by the same check.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

USER_COOKIE = "_streamlit_user"  # streamlit.web.server.server_util.AUTH_COOKIE_NAME
XSRF_COOKIE = "_streamlit_xsrf"
CHART_TYPES = ("plotly_chart", "vega_lite_chart", "arrow_vega_lite_chart")
WIDGET_TYPES = ("multiselect", "slider", "selectbox", "segmented_control", "button_group", "radio",
                "checkbox", "text_input", "text_area", "number_input", "button", "date_input",
                "toggle")


def signed_user_cookie(secret: str, origin: str, email: str, name: str = "",
                       issued_at: float | None = None) -> str:
    """The value of Streamlit's identity cookie for ``email`` signed with ``secret`` (as
    ``st.login`` writes it after a sign-in); ``issued_at`` (epoch seconds) backdates it."""
    from itsdangerous import URLSafeTimedSerializer

    payload = json.dumps({"origin": origin, "is_logged_in": True, "email": email,
                          "email_verified": True, "name": name or email})

    ser = URLSafeTimedSerializer(secret, salt=USER_COOKIE)
    if issued_at is not None:  # itsdangerous stamps the signing time: sign as of issued_at
        signer = ser.make_signer(USER_COOKIE)
        signer.get_timestamp = lambda: int(issued_at)  # type: ignore[method-assign]
        return signer.sign(ser.dump_payload(payload)).decode()
    return ser.dumps(payload)


def xsrf_cookie(base_url: str, cookies: dict[str, str] | None = None, timeout: float = 30) -> str | None:
    """The XSRF cookie the server sets on its health check, which the frontend calls before it
    connects (None when XSRF protection is off)."""
    req = urllib.request.Request(base_url + "/_stcore/health", headers=_cookie_header(cookies or {}))
    with urllib.request.urlopen(req, timeout=timeout) as r:
        for header in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == XSRF_COOKIE:
                return rest.split(";", 1)[0]
    return None


def _cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


@dataclass
class Widget:
    key: str  # the user key (the part after the last "-" of the element id), or the id
    id: str
    kind: str
    label: str
    options: list[str] = field(default_factory=list)


@dataclass
class Run:
    """What one script run sent: seconds from the request to the first chart and to the end
    (None when none came), the errors shown, the widgets and the text of every element."""

    first_chart_s: float | None = None
    finished_s: float | None = None
    errors: list[str] = field(default_factory=list)
    widgets: dict[str, Widget] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    charts: int = 0
    status: str = ""

    def text(self) -> str:
        return "\n".join(self.texts)


def _element_text(el) -> str:
    kind = el.WhichOneof("type")
    inner = getattr(el, kind, None)
    for attr in ("body", "label", "text", "value"):
        v = getattr(inner, attr, None)
        if isinstance(v, str) and v:
            return v
    return ""


def _widget(el) -> Widget | None:
    kind = el.WhichOneof("type")
    if kind not in WIDGET_TYPES:
        return None
    inner = getattr(el, kind)
    wid = getattr(inner, "id", "")
    if not wid:
        return None
    key = wid.rsplit("-", 1)[-1] if wid.startswith("$$ID-") else wid
    options = list(getattr(inner, "options", []) or [])
    return Widget(key, wid, kind, getattr(inner, "label", ""), [str(o) for o in options])


class Session:
    """One browser session on a kamdash server; ``open`` connects, ``run`` reruns a page."""

    def __init__(self, base_url: str, cookies: dict[str, str] | None = None, timeout: float = 600):
        self.base_url = base_url.rstrip("/")
        self.cookies = dict(cookies or {})
        self.timeout = timeout
        self.ws = None
        self.pages: dict[str, str] = {}  # URL path -> page script hash
        self.page_hash = ""

    async def open(self) -> None:
        import websockets

        loop = asyncio.get_running_loop()
        xsrf = await loop.run_in_executor(None, xsrf_cookie, self.base_url, self.cookies)
        protocols = ["streamlit"]
        if xsrf:
            self.cookies[XSRF_COOKIE] = xsrf
            protocols.append(xsrf)  # the frontend sends its XSRF cookie as the second entry
        ws_url = "ws" + self.base_url[len("http"):] + "/_stcore/stream"
        self.ws = await websockets.connect(
            ws_url, subprotocols=protocols, max_size=None, open_timeout=self.timeout,
            additional_headers={**_cookie_header(self.cookies), "Origin": self.base_url})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def run(self, page: str = "", query: str = "", widgets: list[WidgetState] | None = None) -> Run:
        """Rerun ``page`` (its URL path; "" for the home page) with ``query`` (the URL's query
        string) and the given widget states; read until the run finishes."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query
        if page in self.pages:
            cs.page_script_hash = self.pages[page]
        else:
            cs.page_name = page
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"{self.base_url}/{page}" + (f"?{query}" if query else "")
        for w in widgets or []:
            cs.widget_states.widgets.append(w)
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        return await self._read(started)

    async def _read(self, started: float) -> Run:
        out = Run()
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=self.timeout)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                self._learn(fm.new_session.app_pages)
            elif kind == "navigation":
                self._learn(fm.navigation.app_pages)
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                etype = el.WhichOneof("type")
                if etype in CHART_TYPES:
                    out.charts += 1
                    if out.first_chart_s is None:
                        out.first_chart_s = time.perf_counter() - started
                elif etype == "exception":
                    out.errors.append(f"{el.exception.type}: {el.exception.message}")
                elif etype == "alert" and el.alert.format == el.alert.ERROR:
                    out.errors.append(el.alert.body)
                w = _widget(el)
                if w is not None:
                    out.widgets[w.key] = w
                text = _element_text(el)
                if text:
                    out.texts.append(text)
            elif kind == "delta" and fm.delta.WhichOneof("type") == "add_block":
                block = fm.delta.add_block
                btype = block.WhichOneof("type")
                inner = getattr(block, btype, None) if btype else None
                bid = getattr(inner, "id", "") if inner is not None else ""
                if bid:  # a layout that is a widget too (tabs with a key)
                    key = bid.rsplit("-", 1)[-1] if bid.startswith("$$ID-") else bid
                    out.widgets[key] = Widget(key, bid, btype, "")
            elif kind == "script_finished":
                status = fm.ScriptFinishedStatus.Name(fm.script_finished)
                # a rerun requested while running ends the run early; its own run follows
                if status == "FINISHED_EARLY_FOR_RERUN":
                    continue
                out.status = status
                out.finished_s = time.perf_counter() - started
                return out
            elif kind == "page_not_found":
                out.errors.append(f"page not found: {fm.page_not_found.page_name}")
            elif kind == "auth_redirect":
                out.errors.append(f"redirected to sign in: {fm.auth_redirect.url}")

    def _learn(self, app_pages) -> None:
        for p in app_pages:
            if p.url_pathname:
                self.pages[p.url_pathname] = p.page_script_hash


def string_array(widget_id: str, values: list[str]) -> WidgetState:
    w = WidgetState(id=widget_id)
    w.string_array_value.data.extend(values)
    return w


def trigger(widget_id: str) -> WidgetState:
    return WidgetState(id=widget_id, trigger_value=True)


def string(widget_id: str, value: str) -> WidgetState:
    return WidgetState(id=widget_id, string_value=value)
