"""What the Chromium tests share: the browser's launch flags, a site served on a real port with
its app at hand, admins made the way an operator makes them, API users beside the browser, and
the XSS corpus with the DOM check that judges it."""
from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiohttp import web

from forum.keys import services_key
from forum.services import accounts
from tests.conftest import PASSWORD, ApiUser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@dataclass
class Site:
    url: str
    app: web.Application

    @property
    def svc(self):
        return self.app[services_key]


async def make_admin(svc, email: str, name: str) -> None:
    """An admin as `run.py create-admin` makes one: the first account is no admin by itself."""
    try:
        await accounts.create_admin(svc, email=email, password=PASSWORD, display_name=name)
    except TypeError:  # create_admin before it took a display name: register, then promote
        await accounts.register(svc, email=email, password=PASSWORD, display_name=name, accepted_terms=True)
        await accounts.create_admin(svc, email=email, password=PASSWORD)


async def api_user(site: Site, sessions: list, email: str, name: str | None = None) -> ApiUser:
    """An API client on the browser's site (registers first when given a name); the caller
    closes the sessions it collects."""
    session = aiohttp.ClientSession(base_url=site.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    sessions.append(session)
    user = ApiUser(session, email)
    if name is not None:
        await user.post("/api/v1/register", {"accept_terms": True, "email": email, "password": PASSWORD, "display_name": name}, expect=201)
    await user.login()
    return user


async def log_in(context, base: str, email: str):
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base}/")
    return page


# Each payload fits the shortest field (a name: 80 characters). Contexts: element, attribute
# (double and single quoted, unquoted), textarea, URL (markdown link and image, raw href,
# data: URL), style, and template syntax (Jinja2, JS template literal, Ruby/ERB-like).
PAYLOADS = [
    '<img src=x onerror=window.__xss=1>',
    '<script>window.__xss=2</script>',
    '" onmouseover="window.__xss=3" x="',
    "' autofocus onfocus='window.__xss=4' x='",
    '</textarea><img src=x onerror=window.__xss=5>',
    '<a href="javascript:window.__xss=6">a6</a>',
    '[x7](javascript:window.__xss=7)',
    '[x8](data:text/html,<script>window.__xss=8</script>)',
    '<style>*{display:none}</style><b style="color:red">s9</b>',
    '![i10](x"onerror="window.__xss=10)',
    '{{7+1330}} ${7+1330} #{7+1330} {% raw %}r11{% endraw %} <%= 7+1330 %>',
    '"><svg onload=window.__xss=12>',
    '<iframe src="data:text/html,<script>parent.__xss=13</script>">',
    '</title><input autofocus onfocus=window.__xss=14>',
    'javascript:window.__xss=15',
]
TEMPLATE = PAYLOADS[10]
EVALUATED = "1337"  # 7+1330: would show only if user text were run as a template

# Judged in the DOM, not by dialogs: no handler attribute anywhere, no script-bearing URL, no
# style from anyone, no element user text could have made, and the flag never set.
DOM_CHECK = """() => {
  const bad = [];
  for (const e of document.querySelectorAll('*')) {
    for (const a of e.attributes) {
      const name = a.name.toLowerCase(), value = a.value.replace(/\\s/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(e.tagName + ' ' + name);
      if (name === 'style' || name === 'autofocus') bad.push(e.tagName + ' ' + name);
      if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc'].includes(name) &&
          /^(javascript|vbscript|data):/.test(value)) bad.push(e.tagName + ' ' + name + '=' + value);
    }
  }
  for (const e of document.querySelectorAll('script')) {
    if (!(e.getAttribute('src') || '').startsWith('/static/')) bad.push('inline script');
  }
  for (const e of document.querySelectorAll('style, iframe, object, embed, svg, img[src=x], base, meta[http-equiv]')) {
    // the header's own bell picture (a path, no script; its attributes are checked above) is ours
    if (!(e.matches('#bell > svg.bell-icon') && [...e.querySelectorAll('*')].every(c => c.tagName === 'path'))) {
      bad.push(e.tagName);
    }
  }
  if (window.__xss !== undefined) bad.push('__xss=' + window.__xss);
  return bad;
}"""


async def assert_clean(page, where: str) -> None:
    assert await page.evaluate(DOM_CHECK) == [], where
    text = await page.inner_text("body")
    assert EVALUATED not in text, where


async def close_all(sessions: list) -> None:
    for session in sessions:
        await session.close()


def packed(limit: int, separator: str = " ") -> list[str]:
    """The corpus packed greedily into as few field values as a field of this length holds."""
    values, current = [], ""
    for payload in PAYLOADS:
        joined = f"{current}{separator}{payload}" if current else payload
        if len(joined) > limit:
            values.append(current)
            joined = payload
        current = joined
    return values + [current]


ALL = "\n\n".join(PAYLOADS)  # for fields of many lines: every payload a paragraph of its own
