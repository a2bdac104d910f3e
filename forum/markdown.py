"""Markdown to safe HTML, once, when a post is written.

CommonMark via markdown-it-py with raw HTML disabled, then an allow-list sanitiser (nh3) as
a second wall: whatever the renderer lets through, only these tags and attributes survive.

Images show only from this site: an image from elsewhere would let its host see who reads the
post, and when (the Content-Security-Policy allows no other image sources either), so it
becomes a link the reader may choose to follow.

Bare addresses (https://…, www.…, gemeente.nl) become links, and @handles link to the profile
they name (/users/@handle), outside code and outside links.
"""
from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

_md = (MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
       .enable("table").enable("strikethrough").enable("linkify"))

# as forum.services.notifications.MENTION_RE reads them (who is told): the same handles link
MENTION_RE = re.compile(r"(?<![\w@/.])@([a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?)\b", re.IGNORECASE)


def _mentions(state) -> None:
    """A core rule after linkify: '@handle' in text (not in a link, not in code) becomes a link
    to that person's profile."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, depth = [], 0
        for token in block.children:
            depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or depth > 0 or "@" not in token.content:
                children.append(token)
                continue
            at = 0
            for match in MENTION_RE.finditer(token.content):
                if match.start() > at:
                    children.append(_text(token.content[at:match.start()]))
                opening = Token("link_open", "a", 1)
                opening.attrs = {"href": f"/users/@{match.group(1).lower()}", "class": "mention"}
                children.extend([opening, _text(match.group(0)), Token("link_close", "a", -1)])
                at = match.end()
            if at < len(token.content):
                children.append(_text(token.content[at:]))
        block.children = children


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


_md.core.ruler.after("linkify", "mentions", _mentions)


def is_same_site(src: str) -> bool:
    """A path on this site: "/files/a.png", not "//host/a.png" (scheme-relative) nor "/\\host"
    (which browsers read as scheme-relative too), nor a relative "a.png" whose meaning depends
    on the page it lands on."""
    return src.startswith("/") and src[1:2] not in ("/", "\\")


def _image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if is_same_site(src):
        return self.image(tokens, idx, options, env)
    text = escapeHtml(self.renderInlineAsText(token.children or [], options, env) or src)
    depth = 0
    for before in tokens[:idx]:
        depth += {"link_open": 1, "link_close": -1}.get(before.type, 0)
    if depth > 0:
        return text  # inside a link already (a linked badge): links do not nest, its words stay
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(src)}"{title_attr} rel="nofollow ugc noopener">{text}</a>'


_md.add_render_rule("image", _image)

ATTACHMENT_RE = re.compile(r"/documents/\d+(/download)?(\?version=\d+)?")


def _link_open(self, tokens, idx, options, env) -> str:
    """A link to one of the site's documents is an attachment, and looks like one."""
    token = tokens[idx]
    if ATTACHMENT_RE.fullmatch(str(token.attrGet("href") or "")):
        token.attrSet("class", "attachment")
    return self.renderToken(tokens, idx, options, env)


_md.add_render_rule("link_open", _link_open)

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}


def images_without_alt(text: str, placeholders: frozenset[str] = frozenset()) -> list[str]:
    """The sources of images this site would show (its own) that have no words for those who
    cannot see them (WCAG 1.1.1), or only a placeholder the editor put there to be replaced:
    a text with any is refused, with the image named."""
    missing = []
    pending = list(_md.parse(text))
    while pending:
        token = pending.pop()
        alt = "".join(child.content for child in token.children or []).strip().lower()
        if token.type == "image" and is_same_site(str(token.attrGet("src") or "")) \
                and (not alt or alt in placeholders):
            missing.append(str(token.attrGet("src")))
        pending.extend(token.children or [])
    return missing


def render_markdown(text: str) -> str:
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes={"a": {"attachment", "mention"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )
