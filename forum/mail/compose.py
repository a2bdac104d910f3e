"""Mail bodies: a plain-text and an HTML part from templates/mail, in the recipient's language."""
from __future__ import annotations

import jinja2

from forum import ROOT
from forum.i18n import ntranslate_in, translate_in

_text_env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates" / "mail"), autoescape=False,
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_html_env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates" / "mail"), autoescape=True,
                               undefined=jinja2.StrictUndefined)


def render(template: str, locale: str, **context) -> tuple[str, str]:
    """(text, html) of templates/mail/TEMPLATE.txt and TEMPLATE.html."""
    def _(message: str, **params) -> str:
        return translate_in(locale, message, **params)

    def ngettext(singular: str, plural: str, n: int, **params) -> str:
        return ntranslate_in(locale, singular, plural, n, **params)

    values = {"_": _, "gettext": _, "ngettext": ngettext, "locale": locale, **context}
    return (_text_env.get_template(f"{template}.txt").render(values),
            _html_env.get_template(f"{template}.html").render(values))
