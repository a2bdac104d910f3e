"""What a notification says: one line in the reader's language, its link and the start of what
it is about, each judged by the policy when it is shown or mailed (forum/services/notifications.py
decides who is told)."""
from __future__ import annotations

import json
import re

from forum import policy
from forum.errors import N_
from forum.i18n import format_moment, ntranslate_in, translate_in
from forum.policy import Actor

CODE_RE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
EXCERPT_CHARS = 140


# --- what a notification says ----------------------------------------------------------------

def describe(note, locale: str, visible: bool) -> str:
    """One line, in the reader's language: who did what, where."""
    if not visible:
        return translate_in(locale, N_("Een melding over iets wat u niet (meer) kunt zien."))
    actor = note["actor_name"] or translate_in(locale, N_("Iemand"))
    thread, group, count = note["thread_title"] or "", note["group_name"] or "", note["count"]
    kind = note["kind"]
    if kind == "reply":
        if count > 1:
            return ntranslate_in(locale, "%(num)d reactie op uw bericht in %(thread)s",
                                 "%(num)d reacties op uw bericht in %(thread)s", count, thread=thread)
        return translate_in(locale, N_("%(actor)s reageerde op uw bericht in %(thread)s"), actor=actor, thread=thread)
    if kind == "mention":
        return translate_in(locale, N_("%(actor)s noemde u in %(thread)s"), actor=actor, thread=thread)
    if kind == "watched_post":
        if count > 1:
            return ntranslate_in(locale, "%(num)d nieuw bericht in %(thread)s",
                                 "%(num)d nieuwe berichten in %(thread)s", count, thread=thread)
        return translate_in(locale, N_("%(actor)s schreef in %(thread)s"), actor=actor, thread=thread)
    if kind == "new_thread":
        return translate_in(locale, N_("%(actor)s begon de discussie %(thread)s in %(group)s"),
                            actor=actor, thread=thread, group=group)
    if kind == "news":
        return translate_in(locale, N_("%(actor)s publiceerde %(thread)s in %(group)s"),
                            actor=actor, thread=thread, group=group)
    if kind == "join_request":
        return translate_in(locale, N_("%(actor)s wil lid worden van %(group)s"), actor=actor, group=group)
    if kind == "request_approved":
        return translate_in(locale, N_("U bent nu lid van %(group)s"), group=group)
    if kind == "request_rejected":
        return translate_in(locale, N_("Uw verzoek om lid te worden van %(group)s is afgewezen"), group=group)
    if kind == "invitation":
        return translate_in(locale, N_("%(actor)s nodigde u uit voor %(group)s"), actor=actor, group=group)
    if kind == "warned":
        return translate_in(locale, N_("Een moderator waarschuwt u over uw bericht in %(thread)s: %(reason)s"),
                            thread=thread, reason=json.loads(note["data"] or "{}").get("reason", ""))
    if kind == "report_resolved":
        outcome = json.loads(note["data"] or "{}").get("action", "")
        outcomes = {"dismiss": N_("geen actie nodig"), "hide": N_("het bericht is verborgen"),
                    "delete": N_("het bericht is verwijderd"), "warn": N_("de schrijver is gewaarschuwd")}
        return translate_in(locale, N_("Uw melding over een bericht in %(thread)s is afgehandeld: %(outcome)s"),
                            thread=thread, outcome=translate_in(locale, outcomes.get(outcome, outcome)))
    if kind in MODERATOR_ACTS:
        return _moderator_act(note, locale, thread=thread, group=group)
    if kind == "report_new":
        return translate_in(locale, N_("%(actor)s meldde een bericht in %(thread)s (%(group)s)"),
                            actor=actor, thread=thread, group=group)
    if kind == "event_declined":
        title = json.loads(note["data"] or "{}").get("title", "")
        return translate_in(locale, N_("Uw voorstel %(title)s is niet op de agenda van %(group)s gezet"),
                            title=title, group=group)
    if kind in EVENT_TEXTS:
        return translate_in(locale, EVENT_TEXTS[kind], actor=actor, thread=thread, group=group)
    if kind == "role_changed":
        role = json.loads(note["data"] or "{}").get("role", "")
        names = {"owner": N_("eigenaar"), "moderator": N_("moderator"), "member": N_("lid")}
        return translate_in(locale, N_("U bent nu %(role)s van %(group)s"),
                            role=translate_in(locale, names.get(role, role)), group=group)
    return kind


# what a moderator did to the reader or their words, said with the reason (and a ban's end);
# the group's moderators act as one here: the notice names none of them (the audit log does)
MODERATOR_ACTS = {
    "banned": (N_("U bent geweerd uit %(group)s"), N_("U bent geweerd uit %(group)s: %(reason)s")),
    "member_removed": (N_("U bent uit %(group)s verwijderd"), N_("U bent uit %(group)s verwijderd: %(reason)s")),
    "ban_lifted": (N_("U bent niet langer geweerd uit %(group)s: u kunt weer lid worden"),) * 2,
    "thread_removed": (N_("Een moderator verwijderde uw discussie %(title)s in %(group)s"),
                       N_("Een moderator verwijderde uw discussie %(title)s in %(group)s: %(reason)s")),
    "thread_locked": (N_("Een moderator sloot uw discussie %(thread)s"),
                      N_("Een moderator sloot uw discussie %(thread)s: %(reason)s")),
    "post_removed": (N_("Een moderator verwijderde uw bericht in %(thread)s"),
                     N_("Een moderator verwijderde uw bericht in %(thread)s: %(reason)s")),
    "post_hidden": (N_("Een moderator verborg uw bericht in %(thread)s"),
                    N_("Een moderator verborg uw bericht in %(thread)s: %(reason)s")),
}


# told to someone who is no longer in the group, which they may not see any more (a hidden one)
ABOUT_A_FORMER_GROUP = ("banned", "member_removed", "ban_lifted")


def _moderator_act(note, locale: str, **names) -> str:
    data = json.loads(note["data"] or "{}")
    if note["kind"] in ABOUT_A_FORMER_GROUP and data.get("group_name"):
        names["group"] = data["group_name"]  # as it was called then: its name now may be for members only
    plain, with_reason = MODERATOR_ACTS[note["kind"]]
    reason = data.get("reason", "")
    text = translate_in(locale, with_reason if reason else plain, title=data.get("title", ""), reason=reason, **names)
    if data.get("ends_at"):
        text += " " + translate_in(locale, N_("(tot %(when)s)"), when=format_moment(data["ends_at"], locale))
    return text


EVENT_TEXTS = {  # what an event's notification says; %(thread)s is the event's title
    "event_moved_up": N_("Er is een plaats vrijgekomen: u bent aangemeld voor %(thread)s"),
    "event_cancelled": N_("%(thread)s gaat niet door"),
    "event_changed": N_("%(actor)s wijzigde de tijd of plaats van %(thread)s"),
    "event_reminder": N_("Herinnering: morgen is %(thread)s"),
    "event_message": N_("%(actor)s schreef de deelnemers van %(thread)s"),
    "event_proposed": N_("%(actor)s stelt de activiteit %(thread)s voor in %(group)s"),
    "event_approved": N_("Uw activiteit %(thread)s is goedgekeurd"),
    "event_new": N_("%(actor)s zette %(thread)s op de agenda van %(group)s"),
}


def link(note) -> str:
    event_id = json.loads(note["data"] or "{}").get("event_id") if note["kind"] in EVENT_TEXTS else None
    if event_id:
        return f"/events/{event_id}"
    if note["kind"] == "report_new":  # to the queue, at the post's item
        item_id = json.loads(note["data"] or "{}").get("item_id")
        return f"/moderation?group_id={note['group_id']}" + (f"#item-{item_id}" if item_id else "")
    if note["thread_id"]:
        post_id = note["post_id"]  # the page of a long thread that holds it
        return f"/threads/{note['thread_id']}" + (f"?post={post_id}#post-{post_id}" if post_id else "")
    if note["kind"] == "join_request":
        return f"/groups/{note['group_id']}/members"
    return f"/groups/{note['group_id']}" if note["group_id"] else "/notifications"


def excerpt(note) -> str:
    """The start of the post it is about, made when shown or mailed: a post removed or hidden
    since gives none."""
    if note["kind"] in ("event_message", "event_cancelled", "event_declined", "join_request"):  # the sender's own words
        text = " ".join(json.loads(note["data"] or "{}").get("message", "").split())
        return text if len(text) <= EXCERPT_CHARS * 4 else text[:EXCERPT_CHARS * 4 - 1].rstrip() + "…"
    removed = note["post_deleted_at"] is not None or note["post_hidden_at"] is not None
    body = None if removed else note["post_body"]
    if not body:
        return ""
    text = " ".join(CODE_RE.sub(" ", body).split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1].rstrip() + "…"


def note_out(note, actor: Actor) -> dict:
    """A notification as clients see it; what the reader may no longer see is left out."""
    visible = policy.can_see_notification(actor, note)
    # a group left behind that one may no longer see: its id and link (a 404) are left out too
    group_shown = visible and (note["kind"] not in ABOUT_A_FORMER_GROUP or note["group_id"] is None
                               or policy.can(actor, policy.Action.VIEW_GROUP, note))
    return {
        "id": note["id"], "kind": note["kind"],
        "actor": {"id": note["actor_id"], "display_name": note["actor_name"]} if visible and note["actor_id"] else None,
        "thread_id": note["thread_id"] if visible else None,
        "group_id": note["group_id"] if group_shown else None,
        "text": describe(note, actor.locale, visible),
        "excerpt": excerpt(note) if visible else "",
        "url": (link(note) if group_shown else "/notifications") if visible else None,
        "count": note["count"],
        "created_at": note["updated_at"],
        "read": note["read_at"] is not None,
    }
