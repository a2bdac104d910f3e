"""The site's own pages: admins write them in Markdown (rendered once, sanitised, like posts)
and place them in the header or footer menu; every edit keeps the version it replaces.
Everyone may read them."""
from __future__ import annotations

import re

from forum import policy
from forum.errors import Conflict, N_, NotFound
from forum.markdown import render_markdown
from forum.policy import Action, Actor
from forum.services import Services, audit, search_index
from forum.services.checks import MAX_BODY, MAX_TITLE, FieldErrors, choice_field, text_field
from forum.store import documents as document_store
from forum.store import site_pages as store
from forum.store import users as user_store

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
MENUS = ("header", "footer", "none")
LANGUAGES = ("nl", "en")  # what a page is written in: marked on it for screen readers when the reader's differs
RESERVED_SLUGS = {"new"}  # /admin/pages/new is the form for a new page


def _fields(errors: FieldErrors, *, title: str, body: str, menu: str, menu_order, lang: str) -> tuple[str, str]:
    title = text_field(errors, "title", title, max_len=MAX_TITLE)
    body = text_field(errors, "body", body, max_len=MAX_BODY, single_line=False)
    choice_field(errors, "menu", menu, MENUS)
    choice_field(errors, "lang", lang, LANGUAGES)
    if type(menu_order) is not int or not -1000 <= menu_order <= 1000:
        errors.add("menu_order", N_("Een getal van -1000 tot 1000."))
    return title, body


def slug_field(errors: FieldErrors, slug: str) -> str:
    """Part of a URL: lower-case letters, digits and hyphens, so no slash, dot or space can
    reach a path."""
    slug = slug.strip()
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        errors.add("slug", N_("Gebruik 1 tot 60 kleine letters, cijfers of streepjes (geen / of .)."))
    return slug


def require_manager(actor: Actor) -> None:
    """For pages that only list or offer forms: 404 for whoever may not manage pages."""
    policy.require(actor, Action.MANAGE_SITE_PAGES)


async def get(svc: Services, slug: str):
    page = await svc.cached_read(("site_page", slug), lambda conn: store.by_slug(conn, slug))
    if page is None:
        raise NotFound()
    return page


DEFAULT_SITE_NAME = "Maak verschil"


async def menus(svc: Services) -> dict:
    """What frames every page: {"header": [...], "footer": [...]} pages, the site's name and its
    logo (a document id, while it is still a public image of the site's library, else None).
    Read on every page, so through the read cache."""
    async def load(conn):
        rows = await store.menus(conn)
        settings = await user_store.settings(conn)
        logo = settings.get("logo_document_id", "")
        logo_id = int(logo) if logo.isdigit() and await document_store.usable_logo(conn, int(logo)) else None
        return {"header": [r for r in rows if r["menu"] == "header"],
                "footer": [r for r in rows if r["menu"] == "footer"],
                "site_name": settings.get("site_name") or DEFAULT_SITE_NAME, "logo_id": logo_id}
    return await svc.cached_read(("site_menus",), load)


async def listing(svc: Services):
    """Every page: they are all public."""
    async with svc.db.read() as conn:
        return await store.listing(conn)


async def create(svc: Services, actor: Actor, *, slug: str, title: str, body: str, menu: str = "none",
                 menu_order: int = 0, lang: str = "nl"):
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    errors = FieldErrors()
    slug = slug_field(errors, slug)
    title, body = _fields(errors, title=title, body=body, menu=menu, menu_order=menu_order, lang=lang)
    errors.raise_if_any()
    html = render_markdown(body)
    async with svc.db.write() as tx:
        if await store.by_slug(tx, slug):
            raise Conflict(fields={"slug": N_("Er is al een pagina met dit adres.")})
        page_id = await store.insert(tx, slug=slug, title=title, body=body, body_html=html, menu=menu,
                                     menu_order=menu_order, lang=lang, author_id=actor.user_id, now=svc.now())
        await search_index.index_page(tx, page_id)
        await audit.record(tx, svc, actor, "page.create", target_type="page", target_id=page_id, label=title)
        return await store.by_slug(tx, slug)


async def update(svc: Services, actor: Actor, slug: str, *, title: str | None = None, body: str | None = None,
                 menu: str | None = None, menu_order: int | None = None, lang: str | None = None):
    """Change what is given; the version replaced is kept as a revision."""
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    async with svc.db.write() as tx:
        page = await store.by_slug(tx, slug)
        if page is None:
            raise NotFound()
        errors = FieldErrors()
        title, body = _fields(errors, title=page["title"] if title is None else title,
                              body=page["body"] if body is None else body,
                              menu=page["menu"] if menu is None else menu,
                              menu_order=page["menu_order"] if menu_order is None else menu_order,
                              lang=page["lang"] if lang is None else lang)
        errors.raise_if_any()
        menu = page["menu"] if menu is None else menu
        menu_order = page["menu_order"] if menu_order is None else menu_order
        lang = page["lang"] if lang is None else lang
        if (title, body, menu, menu_order, lang) == (page["title"], page["body"], page["menu"], page["menu_order"],
                                                     page["lang"]):
            return page
        html = page["body_html"] if body == page["body"] else render_markdown(body)
        if (title, body) != (page["title"], page["body"]):
            # the version replaced, with who wrote it and when
            await store.insert_revision(tx, page_id=page["id"], title=page["title"], body=page["body"],
                                        body_html=page["body_html"], author_id=page["updated_by"],
                                        created_at=page["updated_at"])
        await store.update(tx, page["id"], title=title, body=body, body_html=html, menu=menu,
                           menu_order=menu_order, lang=lang, author_id=actor.user_id, now=svc.now())
        await search_index.index_page(tx, page["id"])
        await audit.record(tx, svc, actor, "page.edit", target_type="page", target_id=page["id"], label=title)
        return await store.by_slug(tx, slug)


async def delete(svc: Services, actor: Actor, slug: str) -> None:
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    async with svc.db.write() as tx:
        page = await store.by_slug(tx, slug)
        if page is None:
            raise NotFound()
        await store.delete(tx, page["id"])
        await search_index.index_page(tx, page["id"])
        await audit.record(tx, svc, actor, "page.delete", target_type="page", target_id=page["id"],
                           label=page["title"], data={"slug": slug})


async def revisions(svc: Services, actor: Actor, slug: str):
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    async with svc.db.read() as conn:
        page = await store.by_slug(conn, slug)
        if page is None:
            raise NotFound()
        return page, await store.revisions(conn, page["id"])


# The footer a Dutch public body's site needs (WCAG: an accessibility statement; the GDPR: a
# privacy statement; the terms people accept when they join; a way to reach someone), written
# once when a site starts so no site opens without them. Admins rewrite them for their
# programme (/admin/pages); one deleted is not written again.
TERMS_SLUGS = ("voorwaarden", "privacy")  # accepted at registration, while they exist
STARTING_PAGES = (
    ("voorwaarden", "Gebruiksvoorwaarden", 10, """\
Deze samenwerkingsplek is voor iedereen die werkt aan de proeftuinen van het programma: medewerkers
van gemeenten, provincies en partners.

- Schrijf onder uw eigen naam en wees respectvol, ook als u het oneens bent.
- Deel geen persoonsgegevens van anderen en niets wat vertrouwelijk is.
- Moderatoren van een groep kunnen berichten verbergen of verwijderen en deelnemers uit een groep weren;
  beheerders kunnen een account schorsen. U krijgt daar bericht van, bij weren en schorsen altijd
  met de reden.
- Ziet u iets wat niet hoort? Meld het bericht met de knop *Melden*.

De beheerders kunnen deze voorwaarden aanpassen; de datum waarop u ze accepteerde, bewaren wij bij uw account.
"""),
    ("privacy", "Privacyverklaring", 20, """\
De organisatie die deze site beheert, is verantwoordelijk voor wat de site van u bewaart. Wat dat is,
en waarom:

- **Uw account**: e-mailadres, naam, gebruikersnaam, taal, en wanneer u de voorwaarden accepteerde.
  Nodig om mee te doen en om u berichten te sturen. Alleen de beheerders zien uw e-mailadres.
- **Uw profiel**, als u het invult: organisatie, functie, een paar regels over uzelf en een foto.
  Iedereen die meedoet, ziet het; zo vinden deelnemers elkaar.
- **Wat u schrijft**: discussies, reacties, nieuws, activiteiten en documenten, met eerdere versies,
  zolang ze op de site staan.
- **Meldingen en e-mail**: wat u nog niet las, en de e-mails die de site u stuurde.
- **Cookies**: alleen wat de site zelf nodig heeft: een sessiecookie om ingelogd te blijven, een cookie
  tegen vervalste formulieren en, als u die kiest, uw taal. Geen advertenties, geen volgcookies, geen
  analyse door derden.

U ziet en wijzigt uw gegevens bij [Instellingen](/settings/profile). U mag de beheerders vragen welke
gegevens zij van u hebben, ze te verbeteren of te verwijderen: zie [Contact](/pages/contact). Bent u
het niet eens met hoe wij met uw gegevens omgaan, dan kunt u een klacht indienen bij de Autoriteit
Persoonsgegevens.
"""),
    ("toegankelijkheid", "Toegankelijkheidsverklaring", 30, """\
Wij willen dat iedereen deze site kan gebruiken, ook met een schermlezer, alleen een toetsenbord, een
vergroting of een kleine telefoon. De site is gebouwd naar de richtlijnen van WCAG 2.1, niveau AA
(EN 301 549).

Hoe wij dat toetsen, bij elke wijziging van de software:

- elke soort pagina wordt in het Nederlands en het Engels automatisch gecontroleerd met axe-core, en op
  een scherm van 320 pixels breed;
- melden, een discussie starten en iemand noemen, berichten beoordelen, weren en schorsen worden met
  alleen het toetsenbord doorlopen, op een telefoonscherm.

Een automatische controle vindt niet alles. Loopt u tegen iets aan? Laat het ons weten via de pagina
[Contact](/pages/contact).
"""),
    ("contact", "Contact", 40, """\
Vragen over deze site, uw account, uw gegevens of een groep? Mail de beheerders: %(mail)s.

Over een discussie in een groep kunt u ook de moderatoren van die groep aanspreken; over een bericht
dat niet hoort, gebruikt u de knop *Melden* bij dat bericht.
"""),
)


def _contact_address(mail_from: str) -> str:
    """Where the site's mail comes from; an address no one reads (the default on one's own
    machine) is not offered to readers: the admins are asked to fill in theirs."""
    if mail_from.rsplit("@", 1)[-1].rstrip(">").lower() in ("localhost", "localhost.localdomain", "example.org"):
        return "**[het e-mailadres van de beheerders: vul het hier in via Beheer › Pagina's › Contact]**"
    return mail_from


async def write_starting_pages(svc: Services) -> int:
    """Once per site, at start: the footer's pages (STARTING_PAGES) that do not exist yet."""
    async with svc.db.read() as conn:
        if (await user_store.settings(conn)).get("starting_pages_written") == "1":
            return 0
    written = 0
    async with svc.db.write() as tx:
        for slug, title, order, body in STARTING_PAGES:
            body = body.replace("%(mail)s", _contact_address(svc.config.mail_from))
            if await store.by_slug(tx, slug) is None:
                page_id = await store.insert(tx, slug=slug, title=title, body=body, body_html=render_markdown(body),
                                             menu="footer", menu_order=order, author_id=None, now=svc.now())
                await search_index.index_page(tx, page_id)
                written += 1
        await user_store.set_setting(tx, "starting_pages_written", "1")
    return written


async def terms_pages(svc: Services) -> list:
    """The pages someone accepts by registering: those of TERMS_SLUGS that exist, in that order."""
    found = []
    for slug in TERMS_SLUGS:
        page = await svc.cached_read(("site_page", slug), lambda conn, slug=slug: store.by_slug(conn, slug))
        if page is not None:
            found.append(page)
    return found
