"""Who may do what: every access decision of the forum lives here.

Two faces of one rule: `can()` answers for a single object, and `visible_groups_sql()` /
`readable_groups_sql()` give the same answer as SQL filters for lists and counts.
tests/test_policy.py proves they agree over a generated matrix. What an actor may not see
is refused with NotFound, exactly as if it did not exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Mapping

from forum.errors import Forbidden, NotFound, Unauthorized

GROUP_MEMBER_ROLES = ("owner", "moderator", "member")
GROUP_MODERATOR_ROLES = ("owner", "moderator")
# The two groups of kind 'site' that hold the comment threads of site news: read by everyone
# ('public') or by every active account ('members'), moderated by editors, joined by nobody,
# and never shown as groups.
SITE_VISIBILITIES = ("public", "members")
NEWS_PUBLISHER_ROLES = ("editor", "admin")


class Action(StrEnum):
    VIEW_GROUP = "view_group"          # name and description
    READ = "read"                      # threads, posts, member list
    JOIN = "join"                      # join, request to join, or accept an invitation
    ACCEPT_INVITATION_TOKEN = "accept_invitation_token"  # holder of an invitation mail's link
    LEAVE = "leave"
    START_THREAD = "start_thread"
    REPLY = "reply"
    EDIT_POST = "edit_post"
    DELETE_POST = "delete_post"
    RENAME_THREAD = "rename_thread"    # its author, and the group's moderators
    REPORT_POST = "report_post"        # others' posts that are still shown
    SEE_HIDDEN_POST = "see_hidden_post"  # the words (and reason) of a post a moderator hid
    VIEW_REVISIONS = "view_revisions"  # earlier versions of a post
    FOLLOW = "follow"                  # notification levels on a thread or group
    SUGGEST_MENTIONS = "suggest_mentions"  # who may be @mentioned there: those who may write there
    MODERATE_THREAD = "moderate_thread"  # lock and pin: the group's moderators
    MODERATE_GROUP = "moderate_group"  # requests, invitations, member roles, others' posts
    TRANSFER_OWNERSHIP = "transfer_ownership"
    CREATE_GROUP = "create_group"
    ADMINISTER = "administer"          # site settings, users, outbox
    VIEW_DIRECTORY = "view_directory"  # Mensen: the list of everyone active, for whoever is logged in
    MANAGE_SITE_PAGES = "manage_site_pages"  # the site's own pages and their menus
    PUBLISH_NEWS = "publish_news"      # obj: the group, or None for site news
    READ_NEWS = "read_news"            # obj: a news row (published, or one the actor may edit)
    EDIT_NEWS = "edit_news"            # edit, unpublish, republish, delete: who may publish there
    CREATE_EVENT = "create_event"      # obj: the group (its moderators; members propose where allowed) or None
    READ_EVENT = "read_event"          # obj: an event row (proposed ones: their organisers only)
    EDIT_EVENT = "edit_event"          # organisers: edit, cancel, approve, see and message attendees
    RSVP = "rsvp"                      # answer going / maybe / not going
    UPLOAD_DOCUMENT = "upload_document"  # obj: the group (its members) or None (the site's library: editors)
    READ_DOCUMENT = "read_document"    # obj: a document row: its audience, as news
    EDIT_DOCUMENT = "edit_document"    # new versions, title, folder, delete: its uploader and the moderators
    EDIT_FOLDER = "edit_folder"        # obj: a folder row with group_visibility: rename, delete (its maker, moderators)


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    role: str = "visitor"              # visitor, member, editor, admin
    status: str = "active"             # active, pending, suspended
    display_name: str = ""
    email: str = ""
    locale: str = "nl"
    memberships: Mapping[int, str] = field(default_factory=dict)
    handle: str = ""
    created_at: str = ""
    email_verified: bool = False       # the address was proven by a link, by an admin or at set-up
    unread_notifications: int = 0      # for the bell in the header; no decision depends on it

    @property
    def active(self) -> bool:
        """A logged-in account in good standing; pending and suspended ones act as visitors."""
        return self.user_id is not None and self.status == "active"

    @property
    def is_admin(self) -> bool:
        return self.active and self.role == "admin"

    def group_role(self, group_id: int) -> str | None:
        return self.memberships.get(group_id) if self.active else None


VISITOR = Actor()


@dataclass(frozen=True)
class GroupDraft:
    """What a group-creation check needs to know before the group exists."""
    kind: str
    members_may_create_werkgroepen: bool


def _group_of(obj: Any) -> tuple[int, str]:
    """(group id, visibility) of a group, thread or post row.

    Thread and post rows carry their group's id and visibility as group_id/group_visibility."""
    keys = obj.keys()
    if "group_visibility" in keys:
        return obj["group_id"], obj["group_visibility"]
    return obj["id"], obj["visibility"]


def can_view_group(actor: Actor, group_id: int, visibility: str) -> bool:
    if visibility in SITE_VISIBILITIES:
        return False  # a site group holds news comments; it has no page, list entry or members
    if actor.is_admin or visibility == "open":
        return True
    if not actor.active:
        return False
    if visibility == "closed":
        return True
    # Someone invited, or whose request is still open, knows the group exists.
    return actor.group_role(group_id) in (*GROUP_MEMBER_ROLES, "invited", "pending")


def can_read(actor: Actor, group_id: int, visibility: str) -> bool:
    if actor.is_admin or visibility in ("open", "public"):
        return True
    if visibility == "members":
        return actor.active
    return actor.group_role(group_id) in GROUP_MEMBER_ROLES


def _moderates(actor: Actor, group_id: int, visibility: str) -> bool:
    if actor.is_admin:
        return True
    if visibility in SITE_VISIBILITIES:
        return actor.active and actor.role == "editor"
    return actor.group_role(group_id) in GROUP_MODERATOR_ROLES


def _publishes_news(actor: Actor, group_id: int | None, visibility: str | None) -> bool:
    """Site news: editors and admins; a group's news: its moderators (and admins)."""
    if not actor.active:
        return False
    if group_id is None:
        return actor.role in NEWS_PUBLISHER_ROLES
    return visibility not in SITE_VISIBILITIES and _moderates(actor, group_id, visibility)


def _news_audience_reads(actor: Actor, news: Any) -> bool:
    if news["visibility"] == "public":
        return True
    if news["visibility"] == "members":
        return actor.active
    return can_read(actor, news["group_id"], news["group_visibility"])


def _proposes_events(actor: Actor, group: Any) -> bool:
    """Members of a group that lets them propose events (a moderator approves them)."""
    return (actor.active and bool(group["members_propose_events"])
            and actor.group_role(group["id"]) in GROUP_MEMBER_ROLES)


def _organises(actor: Actor, event: Any) -> bool:
    """Who runs an event: those who publish where it is (site: editors; a group: its moderators),
    and whoever made it while they still read it and are not banned there."""
    if _publishes_news(actor, event["group_id"], event["group_visibility"]):
        return True
    if not actor.active or event["organiser_id"] != actor.user_id or event["group_id"] is None:
        return False  # a site event is run by editors: one who is no longer an editor no longer runs it
    return actor.group_role(event["group_id"]) in GROUP_MEMBER_ROLES


def _event_readable(actor: Actor, event: Any) -> bool:
    return _organises(actor, event) or (event["status"] != "proposed" and _news_audience_reads(actor, event))


def is_shown(news: Any) -> bool:
    """Published and not withdrawn: what readers other than its editors may see."""
    return news["published_at"] is not None and news["unpublished_at"] is None


def can(actor: Actor, action: Action, obj: Any = None) -> bool:
    if action in (Action.ADMINISTER, Action.MANAGE_SITE_PAGES):
        return actor.is_admin
    if action is Action.VIEW_DIRECTORY:  # names and organisations of civil servants: not for the open web
        return actor.active
    if action is Action.PUBLISH_NEWS:
        return _publishes_news(actor, *(_group_of(obj) if obj is not None else (None, None)))
    if action in (Action.READ_NEWS, Action.EDIT_NEWS):
        editor = _publishes_news(actor, obj["group_id"], obj["group_visibility"])
        if action is Action.EDIT_NEWS:
            return editor
        return editor or (is_shown(obj) and _news_audience_reads(actor, obj))
    if action is Action.CREATE_EVENT:
        if obj is None:
            return _publishes_news(actor, None, None)
        group_id, visibility = _group_of(obj)
        return visibility not in SITE_VISIBILITIES and (_publishes_news(actor, group_id, visibility)
                                                        or _proposes_events(actor, obj))
    if action is Action.READ_EVENT:
        return _event_readable(actor, obj)
    if action is Action.EDIT_EVENT:
        return _organises(actor, obj)
    if action is Action.RSVP:
        # a group's events are for its members (as its discussions are); site events for every account
        return (actor.active and obj["status"] == "scheduled" and _event_readable(actor, obj)
                and (obj["group_id"] is None or actor.is_admin
                     or actor.group_role(obj["group_id"]) in GROUP_MEMBER_ROLES))
    if action is Action.UPLOAD_DOCUMENT:
        if obj is None:
            return _publishes_news(actor, None, None)
        group_id, visibility = _group_of(obj)
        return actor.active and visibility not in SITE_VISIBILITIES and (
            actor.is_admin or actor.group_role(group_id) in GROUP_MEMBER_ROLES)
    if action is Action.READ_DOCUMENT:
        return _news_audience_reads(actor, obj)
    if action is Action.EDIT_DOCUMENT:
        if _publishes_news(actor, obj["group_id"], obj["group_visibility"]):
            return True
        # an uploader while still a member; the site's library is the editors' (one who is no
        # longer an editor no longer changes what they put there)
        return actor.active and obj["uploader_id"] == actor.user_id and obj["group_id"] is not None \
            and actor.group_role(obj["group_id"]) in GROUP_MEMBER_ROLES
    if action is Action.EDIT_FOLDER:  # as a document: the library's keepers, or its maker while a member
        if _publishes_news(actor, obj["group_id"], obj["group_visibility"]):
            return True
        return actor.active and obj["created_by"] == actor.user_id and obj["group_id"] is not None \
            and actor.group_role(obj["group_id"]) in GROUP_MEMBER_ROLES
    if action is Action.CREATE_GROUP:
        if not actor.active:
            return False
        if actor.role in ("editor", "admin"):
            return True
        return obj.kind == "werkgroep" and obj.members_may_create_werkgroepen

    group_id, visibility = _group_of(obj)
    role = actor.group_role(group_id)
    is_member = role in GROUP_MEMBER_ROLES
    is_moderator = _moderates(actor, group_id, visibility)
    site_group = visibility in SITE_VISIBILITIES
    if site_group and "group_visibility" not in obj.keys() and action is not Action.SUGGEST_MENTIONS:
        # a site group itself (not a thread or post in it) has no page, threads list, members,
        # invitations, bans or settings, for anyone: only its news comment threads are used
        return False

    if action is Action.VIEW_GROUP:
        return can_view_group(actor, group_id, visibility)
    if action is Action.READ:
        return can_read(actor, group_id, visibility)
    if action is Action.JOIN:
        if site_group or not actor.active or is_member or role in ("pending", "banned"):
            return False
        if visibility == "open":
            return True
        # asking a closed group or accepting an invitation needs an address that is proven:
        # otherwise an invitation mailed to an address is claimed by whoever registers it
        return actor.email_verified and (role == "invited" or visibility == "closed")
    if action is Action.ACCEPT_INVITATION_TOKEN:
        # the link in the mail is the proof: it was sent to the invited address
        return actor.active and not is_member and role != "banned"
    if action is Action.LEAVE:  # a member, a request or an invitation; a ban is not left
        return role in (*GROUP_MEMBER_ROLES, "pending", "invited")
    if action in (Action.START_THREAD, Action.REPLY):
        if action is Action.REPLY and obj["locked"] and not is_moderator:
            return False
        if site_group:  # news comments: every reader with an account; threads come with news only
            return action is Action.REPLY and actor.active and can_read(actor, group_id, visibility)
        return actor.active and (is_member or actor.is_admin)
    if action in (Action.EDIT_POST, Action.RENAME_THREAD):
        # a banned author keeps the right to remove their words, not to change them
        return role != "banned" and _may_change_post(actor, group_id, visibility, obj["author_id"],
                                                     obj["deleted_at"])
    if action is Action.DELETE_POST:
        return _may_change_post(actor, group_id, visibility, obj["author_id"], obj["deleted_at"])
    if action is Action.REPORT_POST:  # not by someone banned there: a ban silences them toward its moderators too
        return (actor.active and role != "banned" and can_read(actor, group_id, visibility)
                and obj["author_id"] != actor.user_id
                and obj["deleted_at"] is None and obj["hidden_at"] is None)
    if action is Action.SEE_HIDDEN_POST:
        return (obj["hidden_at"] is not None and obj["deleted_at"] is None and can_read(actor, group_id, visibility)
                and (is_moderator or (actor.active and obj["author_id"] == actor.user_id)))
    if action is Action.VIEW_REVISIONS:
        if obj["deleted_at"] is not None or not can_read(actor, group_id, visibility):
            return False
        return obj["hidden_at"] is None or can(actor, Action.SEE_HIDDEN_POST, obj)
    if action is Action.FOLLOW:
        return actor.active and can_read(actor, group_id, visibility)
    if action is Action.SUGGEST_MENTIONS:
        if site_group:
            return actor.active and can_read(actor, group_id, visibility)
        return can(actor, Action.START_THREAD, obj)
    if action is Action.MODERATE_THREAD:
        return is_moderator and obj["deleted_at"] is None
    if action is Action.MODERATE_GROUP:
        return is_moderator
    if action is Action.TRANSFER_OWNERSHIP:
        return role == "owner" or actor.is_admin
    raise ValueError(f"unknown action {action!r}")


def _may_change_post(actor: Actor, group_id: int, visibility: str, author_id: int, deleted_at) -> bool:
    if deleted_at is not None or not can_read(actor, group_id, visibility):
        return False
    if _moderates(actor, group_id, visibility):
        return True
    return actor.active and author_id == actor.user_id


def acts_on_posts(actor: Actor, thread: Any) -> bool:
    """Whether the actor may edit their own posts of the thread and report others' (the rule
    editable_posts and reportable_posts apply; the live page applies it to posts that arrive)."""
    return (actor.active and actor.group_role(thread["group_id"]) != "banned"
            and can_read(actor, thread["group_id"], thread["group_visibility"]))


def editable_posts(actor: Actor, thread: Any, posts) -> set[int]:
    """The ids among a thread's posts that the actor may edit: the same answer as
    can(actor, EDIT_POST, post) for each post (tests/test_policy.py checks), in one pass."""
    if not can_read(actor, thread["group_id"], thread["group_visibility"]):
        return set()
    if _moderates(actor, thread["group_id"], thread["group_visibility"]):
        return {post["id"] for post in posts if post["deleted_at"] is None}
    if not acts_on_posts(actor, thread):
        return set()
    return {post["id"] for post in posts if post["author_id"] == actor.user_id and post["deleted_at"] is None}


def reportable_posts(actor: Actor, thread: Any, posts) -> set[int]:
    """Posts of a thread that the actor may report (can(actor, REPORT_POST, post) for each,
    in one pass): others' posts still shown."""
    if not acts_on_posts(actor, thread):
        return set()
    return {post["id"] for post in posts if post["author_id"] != actor.user_id and post["deleted_at"] is None
            and post["hidden_at"] is None}


def own_hidden_posts(actor: Actor, thread: Any, posts) -> dict[int, str]:
    """Hidden posts whose words and reason the actor may see (can(actor, SEE_HIDDEN_POST, post)
    for each, in one pass): their author, and the group's moderators."""
    if not actor.active or not can_read(actor, thread["group_id"], thread["group_visibility"]):
        return {}
    moderator = _moderates(actor, thread["group_id"], thread["group_visibility"])
    return {post["id"]: post["hidden_reason"] for post in posts
            if post["hidden_at"] is not None and post["deleted_at"] is None
            and (moderator or post["author_id"] == actor.user_id)}


def can_manage_member(actor: Actor, group: Any, current_role: str | None, new_role: str | None = None) -> bool:
    """Whether the actor may give someone holding current_role in the group new_role, or (None)
    remove or ban them: moderators handle members, requests and invitations; acting on a
    moderator or on ownership is for owners and admins."""
    if not can(actor, Action.MODERATE_GROUP, group):
        return False
    if new_role == "owner" or current_role in ("owner", "moderator"):
        return can(actor, Action.TRANSFER_OWNERSHIP, group)
    return True


def move_targets(actor: Actor, thread: Any, groups) -> list:
    """Groups a thread may be moved to by this actor: others that they moderate too (a move
    needs the right to moderate both groups)."""
    if not can(actor, Action.MODERATE_THREAD, thread):
        return []
    return [group for group in groups
            if group["id"] != thread["group_id"] and can(actor, Action.MODERATE_GROUP, group)]


def profile_exists_for(actor: Actor, user: Any) -> bool:
    """Whether an account is there for this viewer at all: active ones are (their names and
    photos stand beside their public posts); pending and suspended ones only for admins and
    their owner."""
    return user["status"] == "active" or actor.is_admin or actor.user_id == user["id"]


def can_view_profile(actor: Actor, user: Any) -> bool:
    """A profile page (organisation, function, about, groups) is for people who are logged in,
    as the directory is: names and organisations of civil servants are not for the open web."""
    return actor.active and profile_exists_for(actor, user)


def can_see_notification(actor: Actor, note: Any) -> bool:
    """Whether a notification may still show what it is about (its title, excerpt, link):
    access is judged when it is shown or mailed, not when it was made."""
    if not actor.active or note["user_id"] != actor.user_id:
        return False
    if note["group_id"] is None or note["group_visibility"] is None:
        return note["group_id"] is None
    if note["kind"] in ("banned", "member_removed", "ban_lifted"):  # about the reader, in a group they belonged to
        return True
    if note["kind"] in ("event_proposed", "report_new"):  # for the group's moderators while they are
        return can(actor, Action.MODERATE_GROUP, note)
    if note["thread_id"] is not None:
        return note["thread_deleted_at"] is None and can(actor, Action.READ, note)
    if note["kind"] == "join_request":
        return can(actor, Action.MODERATE_GROUP, note)
    return can(actor, Action.VIEW_GROUP, note)


def audit_groups(actor: Actor) -> set[int] | None:
    """Whose audit entries the actor reads: None for all (admins), else the groups they
    moderate (empty: the audit log does not exist for them)."""
    if actor.is_admin:
        return None
    return {group_id for group_id, role in actor.memberships.items() if role in GROUP_MODERATOR_ROLES} \
        if actor.active else set()


def moderates_site_news(actor: Actor) -> bool:
    """Editors moderate the comments on site news (admins moderate everything anyway)."""
    return _moderates(actor, 0, "public")


def can_watch(actor: Actor, channel: str, target: Any) -> bool:
    """Live channels: thread:ID and group:ID for readers of that thread or group (target is its
    row), user:ID for that user alone, site for everyone, members (news for members of the
    site) for every active account."""
    kind, _, ident = channel.partition(":")
    if kind == "site":
        return True
    if kind == "members":
        return actor.active
    if kind == "user":
        return actor.active and ident == str(actor.user_id)
    if kind == "thread" and target is not None and target["deleted_at"] is not None:
        return False  # a removed thread has no readers left
    if kind in ("thread", "group"):
        return target is not None and can(actor, Action.READ, target)
    return False


def can_receive(actor: Actor, channel: str, target: Any, kind: str) -> bool:
    """Whether one event on a channel reaches this watcher now. The news that a thread was
    removed still reaches those who could read it (it carries only the thread's id)."""
    if kind == "thread.removed" and channel.startswith("thread:") and target is not None:
        return can(actor, Action.READ, target)
    return can_watch(actor, channel, target)


def _can_see(actor: Actor, action: Action, obj: Any) -> bool:
    """Whether the object itself is visible to the actor: if not, a refusal must look like 404."""
    if action in (Action.ADMINISTER, Action.MANAGE_SITE_PAGES):
        return False  # the admin area does not exist for anyone else
    if action in (Action.CREATE_GROUP, Action.VIEW_DIRECTORY):  # its page exists: logging in opens it
        return True
    if action is Action.PUBLISH_NEWS and obj is None:
        return True  # site news: there is nothing to hide
    if action in (Action.READ_NEWS, Action.EDIT_NEWS):
        return can(actor, Action.READ_NEWS, obj)
    if action in (Action.READ_EVENT, Action.EDIT_EVENT, Action.RSVP):
        return _event_readable(actor, obj)
    if action in (Action.CREATE_EVENT, Action.UPLOAD_DOCUMENT) and obj is None:
        return True
    if action in (Action.READ_DOCUMENT, Action.EDIT_DOCUMENT):
        return _news_audience_reads(actor, obj)
    if action is Action.EDIT_FOLDER:  # a folder is seen by whoever sees its library
        return obj["group_id"] is None or can_read(actor, obj["group_id"], obj["group_visibility"])
    group_id, visibility = _group_of(obj)
    if visibility in SITE_VISIBILITIES and "group_visibility" not in obj.keys():
        return False  # a site group itself is nothing anyone may see (its threads are news comments)
    if action is Action.ACCEPT_INVITATION_TOKEN:
        return True  # whoever holds the link was told the group exists
    if action in (Action.VIEW_GROUP, Action.JOIN, Action.LEAVE, Action.MODERATE_GROUP,
                  Action.TRANSFER_OWNERSHIP):
        return can_view_group(actor, group_id, visibility)
    return can_read(actor, group_id, visibility)


def require(actor: Actor, action: Action, obj: Any = None) -> None:
    """Raise NotFound if the actor may not even see `obj`; if it may see but not act, Unauthorized
    for someone not logged in (logging in might help) and Forbidden otherwise."""
    if obj is None and action not in (Action.ADMINISTER, Action.MANAGE_SITE_PAGES, Action.CREATE_GROUP,
                                      Action.PUBLISH_NEWS, Action.CREATE_EVENT, Action.UPLOAD_DOCUMENT,
                                      Action.VIEW_DIRECTORY):
        raise NotFound()
    if can(actor, action, obj):
        return
    if not _can_see(actor, action, obj):
        raise NotFound()
    if not actor.active:
        raise Unauthorized()
    raise Forbidden()


# --- the same rules as SQL filters, for lists and counts -------------------------------

def visible_groups_sql(actor: Actor, alias: str = "g") -> tuple[str, list]:
    """WHERE fragment: groups whose name and description the actor may see."""
    if actor.is_admin:
        return f"{alias}.kind != 'site'", []
    if not actor.active:
        return f"{alias}.visibility = 'open'", []
    return (
        f"({alias}.visibility IN ('open', 'closed') OR {alias}.id IN "
        "(SELECT group_id FROM memberships WHERE user_id = ? "
        "AND role IN ('owner', 'moderator', 'member', 'invited', 'pending')))",
        [actor.user_id],
    )


def readable_groups_sql(actor: Actor, alias: str = "g") -> tuple[str, list]:
    """WHERE fragment: groups whose threads and posts the actor may read."""
    if actor.is_admin:
        return "1=1", []
    if not actor.active:
        return f"{alias}.visibility IN ('open', 'public')", []
    return (
        f"({alias}.visibility IN ('open', 'public', 'members') OR {alias}.id IN "
        "(SELECT group_id FROM memberships WHERE user_id = ? "
        "AND role IN ('owner', 'moderator', 'member')))",
        [actor.user_id],
    )


def account_reads_group_sql(user: str = "u", group: str = "g") -> str:
    """WHERE fragment over a users row and a groups row: that account, active, may read that
    group now (can(actor, READ, group) for an active account). Notification fan-out, mail and
    digests use it to pick recipients; tests/test_policy.py proves it agrees with can()."""
    member_roles = ", ".join(f"'{role}'" for role in GROUP_MEMBER_ROLES)
    return (f"({user}.status = 'active' AND ({user}.role = 'admin'"
            f" OR {group}.visibility IN ('open', 'public', 'members')"
            f" OR EXISTS (SELECT 1 FROM memberships rm WHERE rm.group_id = {group}.id AND rm.user_id = {user}.id"
            f" AND rm.role IN ({member_roles}))))")


def readable_news_sql(actor: Actor, news: str = "n", group: str = "g", *, shown_only: bool = False) -> tuple[str, list]:
    """WHERE fragment over a news row and its group's row (LEFT JOINed: NULL for site news):
    can(actor, READ_NEWS, row). With shown_only, only what is published and not withdrawn
    (front page, feeds), also for its editors. tests/test_news.py proves it agrees with can()."""
    shown = f"({news}.published_at IS NOT NULL AND {news}.unpublished_at IS NULL)"
    readers, params = readable_groups_sql(actor, group)
    audience = (f"({news}.visibility = 'public'"
                + (f" OR {news}.visibility = 'members'" if actor.active else "")
                + f" OR ({news}.visibility = 'group' AND {readers}))")
    clause = f"({shown} AND {audience})"
    if shown_only or not actor.active:
        return clause, params
    if actor.is_admin:
        return "1=1", []
    editable = f"{news}.group_id IN (SELECT group_id FROM memberships WHERE user_id = ? AND role IN ('owner', 'moderator'))"
    if actor.role in NEWS_PUBLISHER_ROLES:
        editable = f"({news}.group_id IS NULL OR {editable})"
    return f"({clause} OR {editable})", [*params, actor.user_id]


def publishes_events(actor: Actor, event: Any) -> bool:
    """Who runs events where this one is (a group's moderators; editors for the site): they
    approve proposals, change an approved event, and see attendees' addresses."""
    return _publishes_news(actor, event["group_id"], event["group_visibility"])


def sees_event_place(actor: Actor, event: Any, status: str | None) -> bool:
    """The location and online link: for every reader, or (when the organiser chose so) for
    those who have a place and its organisers."""
    return not event["place_for_attendees"] or status == "going" or _organises(actor, event)


def readable_events_sql(actor: Actor, event: str = "e", group: str = "g") -> tuple[str, list]:
    """WHERE fragment over an agenda_events row and its group's row (LEFT JOINed: NULL for site
    events): can(actor, READ_EVENT, row). tests/test_events.py proves it agrees with can()."""
    readers, params = readable_groups_sql(actor, group)
    audience = (f"({event}.visibility = 'public'"
                + (f" OR {event}.visibility = 'members'" if actor.active else "")
                + f" OR ({event}.visibility = 'group' AND {readers}))")
    clause = f"({event}.status != 'proposed' AND {audience})"
    if not actor.active:
        return clause, params
    if actor.is_admin:
        return "1=1", []
    member_roles = ", ".join(f"'{role}'" for role in GROUP_MEMBER_ROLES)
    moderated = (f"{event}.group_id IN (SELECT group_id FROM memberships WHERE user_id = ?"
                 " AND role IN ('owner', 'moderator'))")
    own = (f"({event}.organiser_id = ? AND {event}.group_id IN"
           f" (SELECT group_id FROM memberships WHERE user_id = ? AND role IN ({member_roles})))")
    organised = f"({moderated} OR {own}"
    if actor.role in NEWS_PUBLISHER_ROLES:
        organised += f" OR {event}.group_id IS NULL"
    return f"({clause} OR {organised}))", [*params, actor.user_id, actor.user_id, actor.user_id]


def findable_people_sql(actor: Actor, user: str = "u") -> tuple[str, list]:
    """The people search finds: as the directory, active accounts, for who is logged in."""
    return (f"{user}.status = 'active'", []) if can(actor, Action.VIEW_DIRECTORY) else ("1 = 0", [])


def readable_documents_sql(actor: Actor, doc: str = "d", group: str = "g") -> tuple[str, list]:
    """WHERE fragment over a documents row and its group's row (LEFT JOINed: NULL for the site's
    library): can(actor, READ_DOCUMENT, row). tests/test_documents.py proves it agrees with can()."""
    readers, params = readable_groups_sql(actor, group)
    return (f"({doc}.visibility = 'public'" + (f" OR {doc}.visibility = 'members'" if actor.active else "")
            + f" OR ({doc}.visibility = 'group' AND {readers}))"), params
