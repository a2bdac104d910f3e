"""The audit log read as sentences ("Anna heeft Dirk geweerd uit Regio Zwolle"), in the reader's
language, with links to the people, groups and things it names (each page judges access itself;
what was deleted gets no link). The log keeps keys and ids; this room gives them words."""
from __future__ import annotations

from markupsafe import Markup, escape

from forum.errors import N_
from forum.i18n import current_locale, format_moment, gettext

# what each kind of entry says; %(target)s is what it was done to, %(group)s where
SENTENCES = {
    "member.approve": N_("%(actor)s heeft %(target)s toegelaten tot %(group)s"),
    "member.reject": N_("%(actor)s heeft het verzoek van %(target)s om lid te worden van %(group)s afgewezen"),
    "member.role": N_("%(actor)s heeft %(target)s %(role)s gemaakt van %(group)s"),
    "member.remove": N_("%(actor)s heeft %(target)s verwijderd uit %(group)s"),
    "member.ban": N_("%(actor)s heeft %(target)s geweerd uit %(group)s"),
    "member.unban": N_("%(actor)s heeft het weren van %(target)s uit %(group)s opgeheven"),
    "member.ban_ended": N_("Het weren van %(target)s uit %(group)s is afgelopen"),
    "group.update": N_("%(actor)s heeft de groep %(target)s gewijzigd"),
    "thread.lock": N_("%(actor)s heeft de discussie %(target)s gesloten"),
    "thread.unlock": N_("%(actor)s heeft de discussie %(target)s heropend"),
    "thread.pin": N_("%(actor)s heeft de discussie %(target)s vastgezet"),
    "thread.unpin": N_("%(actor)s heeft de discussie %(target)s losgemaakt"),
    "thread.rename": N_("%(actor)s heeft de discussie %(target)s een nieuwe titel gegeven"),
    "thread.move": N_("%(actor)s heeft de discussie %(target)s verplaatst"),
    "thread.delete": N_("%(actor)s heeft de discussie %(target)s verwijderd"),
    "post.edit": N_("%(actor)s heeft een bericht van %(target)s bewerkt"),
    "post.delete": N_("%(actor)s heeft een bericht van %(target)s verwijderd"),
    "report.dismiss": N_("%(actor)s heeft een melding over een bericht van %(target)s afgehandeld zonder actie"),
    "report.hide": N_("%(actor)s heeft een gemeld bericht van %(target)s verborgen"),
    "report.delete": N_("%(actor)s heeft een gemeld bericht van %(target)s verwijderd"),
    "report.warn": N_("%(actor)s heeft %(target)s gewaarschuwd over een bericht"),
    "news.create": N_("%(actor)s heeft het nieuwsbericht %(target)s geschreven"),
    "news.edit": N_("%(actor)s heeft het nieuwsbericht %(target)s bewerkt"),
    "news.unpublish": N_("%(actor)s heeft het nieuwsbericht %(target)s ingetrokken"),
    "news.delete": N_("%(actor)s heeft het nieuwsbericht %(target)s verwijderd"),
    "event.create": N_("%(actor)s heeft de activiteit %(target)s op de agenda gezet"),
    "event.propose": N_("%(actor)s heeft de activiteit %(target)s voorgesteld voor de agenda"),
    "event.edit": N_("%(actor)s heeft de activiteit %(target)s gewijzigd"),
    "event.approve": N_("%(actor)s heeft de activiteit %(target)s goedgekeurd"),
    "event.cancel": N_("%(actor)s heeft de activiteit %(target)s afgelast"),
    "event.restore": N_("%(actor)s heeft de activiteit %(target)s toch laten doorgaan"),
    "event.message": N_("%(actor)s heeft de deelnemers van %(target)s geschreven"),
    "event.delete": N_("%(actor)s heeft de activiteit %(target)s verwijderd"),
    "document.upload": N_("%(actor)s heeft het document %(target)s in de bibliotheek gezet"),
    "document.version": N_("%(actor)s heeft het document %(target)s een nieuwe versie gegeven"),
    "document.delete": N_("%(actor)s heeft het document %(target)s verwijderd"),
    "folder.rename": N_("%(actor)s heeft de map %(target)s een nieuwe naam gegeven"),
    "folder.delete": N_("%(actor)s heeft de map %(target)s verwijderd"),
    "page.create": N_("%(actor)s heeft de pagina %(target)s geschreven"),
    "page.edit": N_("%(actor)s heeft de pagina %(target)s bewerkt"),
    "page.delete": N_("%(actor)s heeft de pagina %(target)s verwijderd"),
    "user.approve": N_("%(actor)s heeft de aanmelding van %(target)s goedgekeurd"),
    "user.confirm_email": N_("%(actor)s heeft het e-mailadres van %(target)s bevestigd"),
    "user.role": N_("%(actor)s heeft %(target)s %(role)s gemaakt van de site"),
    "user.suspend": N_("%(actor)s heeft %(target)s geschorst"),
    "user.unsuspend": N_("%(actor)s heeft de schorsing van %(target)s opgeheven"),
    "site.settings": N_("%(actor)s heeft de instellingen van de site gewijzigd"),
    "mail.retry": N_("%(actor)s heeft een e-mail aan %(target)s opnieuw laten versturen"),
}
ROLE_NAMES = {"owner": N_("eigenaar"), "moderator": N_("moderator"), "member": N_("lid"),
              "editor": N_("redacteur"), "admin": N_("beheerder")}

# where a named thing lives; None where an entry's action removed it (a link would be a 404)
TARGET_URLS = {"user": "/users/{id}", "thread": "/threads/{id}", "post": "/posts/{id}", "news": "/news/{id}",
               "event": "/events/{id}", "document": "/documents/{id}", "group": "/groups/{id}"}
REMOVING = {"thread.delete", "post.delete", "report.delete", "news.delete", "event.delete", "document.delete",
            "folder.delete", "page.delete"}

# the filter's choices, grouped as a reader thinks of them
ACTION_NAMES = {
    "member.ban": N_("Lid geweerd"), "member.unban": N_("Weren opgeheven"), "member.ban_ended": N_("Weren afgelopen"),
    "member.remove": N_("Lid verwijderd"), "member.approve": N_("Lid toegelaten"),
    "member.reject": N_("Verzoek afgewezen"), "member.role": N_("Rol in een groep"),
    "report.dismiss": N_("Melding: geen actie"), "report.hide": N_("Melding: verborgen"),
    "report.delete": N_("Melding: verwijderd"), "report.warn": N_("Melding: gewaarschuwd"),
    "thread.lock": N_("Discussie gesloten"), "thread.unlock": N_("Discussie heropend"),
    "thread.pin": N_("Discussie vastgezet"), "thread.unpin": N_("Discussie losgemaakt"),
    "thread.rename": N_("Discussie hernoemd"), "thread.move": N_("Discussie verplaatst"),
    "thread.delete": N_("Discussie verwijderd"), "post.edit": N_("Bericht bewerkt"),
    "post.delete": N_("Bericht verwijderd"), "group.update": N_("Groep gewijzigd"),
    "user.suspend": N_("Account geschorst"), "user.unsuspend": N_("Schorsing opgeheven"),
    "user.approve": N_("Aanmelding goedgekeurd"), "user.role": N_("Rol op de site"),
    "user.confirm_email": N_("E-mailadres bevestigd"), "site.settings": N_("Instellingen van de site"),
    "news.create": N_("Nieuws geschreven"), "news.edit": N_("Nieuws bewerkt"),
    "news.unpublish": N_("Nieuws ingetrokken"), "news.delete": N_("Nieuws verwijderd"),
    "event.create": N_("Activiteit aangemaakt"), "event.propose": N_("Activiteit voorgesteld"),
    "event.edit": N_("Activiteit gewijzigd"),
    "event.approve": N_("Activiteit goedgekeurd"), "event.cancel": N_("Activiteit afgelast"),
    "event.restore": N_("Activiteit hersteld"), "event.message": N_("Bericht aan deelnemers"),
    "event.delete": N_("Activiteit verwijderd"), "document.upload": N_("Document toegevoegd"),
    "document.version": N_("Nieuwe versie van een document"), "document.delete": N_("Document verwijderd"),
    "folder.rename": N_("Map hernoemd"), "folder.delete": N_("Map verwijderd"), "page.create": N_("Pagina geschreven"),
    "page.edit": N_("Pagina bewerkt"), "page.delete": N_("Pagina verwijderd"), "mail.retry": N_("E-mail opnieuw"),
}


def _link(text: str, url: str | None) -> Markup:
    return Markup('<a href="%s">%s</a>') % (url, text) if url else Markup("<strong>%s</strong>") % text


def sentence(entry: dict) -> Markup:
    """One entry (as the API gives it) as a sentence with its links, escaped, in the reader's
    language; the reason follows a colon, a suspension or ban's end in brackets."""
    data = entry["data"] or {}
    actor = entry["actor"]
    target, group = entry["target"], entry["group"]
    target_url = None
    if entry["action"] not in REMOVING and target["id"] and target["type"] in TARGET_URLS:
        target_url = TARGET_URLS[target["type"]].format(id=target["id"])
    if target["type"] == "page" and data.get("slug") and entry["action"] not in REMOVING:
        target_url = f"/pages/{data['slug']}"
    names = {
        "actor": _link(actor["display_name"], f"/users/{actor['id']}") if actor else Markup(escape(gettext("Het forum"))),
        "target": _link(target["label"] or "?", target_url),
        "group": _link(group["name"], f"/groups/{group['id']}") if group else Markup(""),
        "role": escape(gettext(ROLE_NAMES[data["to"]])) if data.get("to") in ROLE_NAMES else "",
    }
    template = SENTENCES.get(entry["action"])
    if template is None:  # an entry written by a version that knew more kinds: its key, plainly
        text = Markup("%(actor)s: <code>%(action)s</code> %(target)s") % {**names, "action": entry["action"]}
    else:
        text = Markup(escape(gettext(template))) % names
    end = data.get("until") or data.get("ends_at")
    if end:
        text += " " + escape(gettext("(tot %(when)s)", when=format_moment(end, current_locale())))
    if entry["reason"]:
        text += Markup(": ") + escape(entry["reason"])
    return text


SITE_WIDE = ("user.", "site.", "page.", "mail.")  # kinds only an admin's log holds


def action_choices(site_wide: bool) -> list[tuple[str, str]]:
    """(key, name) for the filter, by name in the reader's language; a moderator is not offered
    the kinds their log cannot hold."""
    return sorted(((key, gettext(name)) for key, name in ACTION_NAMES.items()
                   if site_wide or not key.startswith(SITE_WIDE)), key=lambda pair: pair[1].lower())
