"""The one URL map: every page and API route, each named. The API table also feeds the
OpenAPI document, so the two cannot drift apart."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from forum import ROOT
from forum.keys import openapi_key
from forum.web.api import ReasonIn, TokenIn
from forum.live import endpoint as live_endpoint
from forum.web.api import accounts as api_accounts
from forum.web.api import groups as api_groups
from forum.web.api import audit as api_audit
from forum.web.api import moderation as api_moderation
from forum.web.api import notifications as api_notes
from forum.web.api import threads as api_threads
from forum.web.api import search as api_search
from forum.web.api import site_pages as api_site_pages
from forum.web.api import news as api_news
from forum.web.api import events as api_events
from forum.web.api import documents as api_documents
from forum.web.api import openapi
from forum.web import health
from forum.web.pages import accounts, admin, admin_mail, groups, threads
from forum.web.pages import audit as audit_page
from forum.web.pages import moderation as moderation_page
from forum.web.pages import notifications as notes
from forum.web.pages import onboarding
from forum.web.pages import search as search_page
from forum.web.pages import site_pages
from forum.web.pages import news as news_pages
from forum.web.pages import feeds
from forum.web.pages import events as event_pages
from forum.web.pages import calendars
from forum.web.pages import documents as document_pages


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    name: str
    summary: str
    body: type | None = None
    body_optional: bool = False  # the JSON body may be left out (its fields all have defaults)
    status: int = 200
    auth: bool = True   # needs a logged-in session (and so X-CSRF-Token on changes)
    query: tuple[tuple[str, str, bool], ...] = ()  # (name, JSON type, required)
    upload: tuple[str, ...] | None = None  # a multipart upload: its text fields besides `file`


API_ROUTES = [
    ApiRoute("GET", "/api/v1/openapi.json", openapi.serve, "api.openapi", "This document", auth=False),
    ApiRoute("GET", "/api/v1/live", live_endpoint.live, "api.live",
             "WebSocket (upgrade): live events with catch-up; see the README for the protocol", auth=False),
    ApiRoute("POST", "/api/v1/register", api_accounts.register, "api.register", "Register an account",
             api_accounts.RegisterIn, 201, auth=False),
    ApiRoute("POST", "/api/v1/login", api_accounts.login, "api.login", "Log in; sets the session cookie",
             api_accounts.LoginIn, auth=False),
    ApiRoute("POST", "/api/v1/logout", api_accounts.logout, "api.logout", "Log out; ends the session"),
    ApiRoute("GET", "/api/v1/me", api_accounts.me, "api.me", "The current user and a CSRF token"),
    ApiRoute("PATCH", "/api/v1/me", api_accounts.update_me, "api.me.update", "Update my profile",
             api_accounts.ProfileIn),
    ApiRoute("PUT", "/api/v1/me/photo", api_accounts.set_photo, "api.me.photo",
             "My profile photo (PNG, JPEG or WebP up to 5 MB, made square on the server)", upload=()),
    ApiRoute("DELETE", "/api/v1/me/photo", api_accounts.remove_photo, "api.me.photo.delete", "Remove my profile photo"),
    ApiRoute("GET", "/api/v1/people", api_accounts.people, "api.people",
             "The member directory, by name; ?q= searches name, organisation and function (logged in)",
             query=(("q", "string", False), ("after", "string", False))),
    ApiRoute("POST", "/api/v1/me/password", api_accounts.change_password, "api.me.password",
             "Change my password; ends my other sessions", api_accounts.PasswordChangeIn),
    ApiRoute("GET", "/api/v1/me/invitations", api_groups.my_invitations, "api.me.invitations",
             "Groups that invited me"),
    ApiRoute("POST", "/api/v1/invitations/accept", api_groups.accept_invitation, "api.invitation.accept",
             "Accept an invitation with the token from its mail", TokenIn),
    ApiRoute("POST", "/api/v1/confirm-email", api_accounts.confirm_email, "api.confirm_email",
             "Confirm my e-mail address with the token from the mail", TokenIn, auth=False),
    ApiRoute("POST", "/api/v1/me/confirm-email", api_accounts.resend_confirmation, "api.me.confirm_email",
             "Send me a new confirmation link", status=202),
    ApiRoute("POST", "/api/v1/password/forgot", api_accounts.request_reset, "api.password.forgot",
             "Mail a password-reset link (answers the same whether the address exists)",
             api_accounts.ResetRequestIn, 202, auth=False),
    ApiRoute("POST", "/api/v1/password/reset", api_accounts.reset, "api.password.reset",
             "Set a new password with a reset token", api_accounts.ResetIn, auth=False),
    ApiRoute("GET", "/api/v1/users/{user_id}", api_accounts.user_profile, "api.user", "A user's profile",
             auth=False),
    ApiRoute("GET", "/api/v1/groups", api_groups.list_groups, "api.groups", "Groups the viewer may see",
             auth=False),
    ApiRoute("POST", "/api/v1/groups", api_groups.create_group, "api.groups.create", "Create a group",
             api_groups.GroupIn, 201),
    ApiRoute("GET", "/api/v1/groups/{group_id}", api_groups.get_group, "api.group",
             "A group and my membership", auth=False),
    ApiRoute("PATCH", "/api/v1/groups/{group_id}", api_groups.update_group, "api.group.update",
             "Rename or change a group (owner, admin)", api_groups.GroupUpdateIn),
    ApiRoute("POST", "/api/v1/groups/{group_id}/join", api_groups.join, "api.group.join",
             "Join (open), request (closed, with an optional message for its moderators) or accept an invitation",
             api_groups.JoinIn, body_optional=True),
    ApiRoute("POST", "/api/v1/groups/{group_id}/leave", api_groups.leave, "api.group.leave",
             "Leave, withdraw a request or decline an invitation"),
    ApiRoute("GET", "/api/v1/groups/{group_id}/members", api_groups.members, "api.group.members",
             "Members (and, for moderators, requests and invitations)", auth=False),
    ApiRoute("POST", "/api/v1/groups/{group_id}/members/{user_id}/approve", api_groups.approve,
             "api.group.approve", "Approve a join request"),
    ApiRoute("POST", "/api/v1/groups/{group_id}/members/{user_id}/reject", api_groups.reject,
             "api.group.reject", "Reject a join request"),
    ApiRoute("PATCH", "/api/v1/groups/{group_id}/members/{user_id}", api_groups.set_role,
             "api.group.member.role", "Change a member's role (owner hands over ownership)",
             api_groups.MemberRoleIn),
    ApiRoute("DELETE", "/api/v1/groups/{group_id}/members/{user_id}", api_groups.remove_member,
             "api.group.member.remove", "Remove a member; a member is told the reason, which is then required",
             ReasonIn, body_optional=True),
    ApiRoute("POST", "/api/v1/groups/{group_id}/invitations", api_groups.invite, "api.group.invite",
             "Invite a user or an email address", api_groups.InvitationIn, 201),
    ApiRoute("GET", "/api/v1/groups/{group_id}/bans", api_groups.list_bans, "api.group.bans",
             "People banned from the group (moderators)"),
    ApiRoute("POST", "/api/v1/groups/{group_id}/bans", api_groups.ban, "api.group.ban",
             "Ban someone: removed, and unable to rejoin or ask to (moderators)", api_groups.BanIn, 201),
    ApiRoute("DELETE", "/api/v1/groups/{group_id}/bans/{user_id}", api_groups.unban, "api.group.unban",
             "Lift a ban (moderators)"),
    ApiRoute("GET", "/api/v1/groups/{group_id}/threads", api_threads.group_threads, "api.group.threads",
             "A page of threads by last activity; pass `next` as `before` for the following page",
             auth=False),
    ApiRoute("POST", "/api/v1/groups/{group_id}/threads", api_threads.start_thread, "api.group.threads.create",
             "Start a thread", api_threads.ThreadIn, 201),
    ApiRoute("GET", "/api/v1/threads/{thread_id}", api_threads.get_thread, "api.thread",
             "A thread and its posts in time order, 20 at a time (limit: up to 100); `next` is the"
             " `after` of the next part, null on the last", auth=False,
             query=(("after", "integer", False), ("limit", "integer", False))),
    ApiRoute("PATCH", "/api/v1/threads/{thread_id}", api_threads.update_thread, "api.thread.update",
             "Rename (author, moderators), lock, pin or move (moderators) a thread", api_threads.ThreadUpdateIn),
    ApiRoute("DELETE", "/api/v1/threads/{thread_id}", api_threads.delete_thread, "api.thread.delete",
             "Remove a thread (moderators); its author is told the reason, which is then required",
             ReasonIn, body_optional=True),
    ApiRoute("POST", "/api/v1/threads/{thread_id}/posts", api_threads.create_post, "api.thread.reply",
             "Reply to the thread or to one of its posts", api_threads.PostIn, 201),
    ApiRoute("GET", "/api/v1/posts/{post_id}", api_threads.get_post, "api.post", "One post", auth=False),
    ApiRoute("PATCH", "/api/v1/posts/{post_id}", api_threads.edit_post, "api.post.edit", "Edit a post",
             api_threads.PostEditIn),
    ApiRoute("DELETE", "/api/v1/posts/{post_id}", api_threads.delete_post, "api.post.delete",
             "Remove a post (its place in the tree stays); a moderator removing someone else's gives a reason",
             ReasonIn, body_optional=True),
    ApiRoute("GET", "/api/v1/posts/{post_id}/revisions", api_threads.post_revisions, "api.post.revisions",
             "Earlier versions of a post", auth=False),
    ApiRoute("GET", "/api/v1/notifications", api_notes.list_notifications, "api.notifications",
             "My notifications, newest first; ?unread=1, ?before=CURSOR (pass `next`)",
             query=(("unread", "string", False), ("before", "integer", False))),
    ApiRoute("POST", "/api/v1/notifications/read", api_notes.mark_read, "api.notifications.read",
             "Mark notifications read: {ids: [...]} or {all: true}", api_notes.ReadIn),
    ApiRoute("PUT", "/api/v1/threads/{thread_id}/subscription", api_notes.thread_level, "api.thread.subscription",
             "My level for a thread: watching (every post), normal (replies to me, mentions), muted",
             api_notes.ThreadLevelIn),
    ApiRoute("PUT", "/api/v1/groups/{group_id}/subscription", api_notes.group_level, "api.group.subscription",
             "My level for a group: watching, new_threads, normal, muted", api_notes.GroupLevelIn),
    ApiRoute("POST", "/api/v1/threads/{thread_id}/read", api_notes.thread_read, "api.thread.read",
             "I have read the thread up to this post", api_notes.ThreadReadIn),
    ApiRoute("POST", "/api/v1/groups/{group_id}/read", api_notes.group_read, "api.group.read",
             "Mark every thread of the group read"),
    ApiRoute("GET", "/api/v1/mentions", api_notes.mentions, "api.mentions",
             "People I may mention in a group (?group_id=&q=), for autocomplete",
             query=(("group_id", "integer", True), ("q", "string", False))),
    ApiRoute("PUT", "/api/v1/me/settings", api_notes.update_settings, "api.me.settings",
             "My mail settings and language", api_notes.SettingsIn),
    ApiRoute("POST", "/api/v1/unsubscribe/{token}", api_notes.one_click_unsubscribe, "api.unsubscribe",
             "One-click unsubscribe (RFC 8058) with the signed token from a mail; no login", auth=False),
    ApiRoute("POST", "/api/v1/posts/{post_id}/reports", api_moderation.report, "api.post.report",
             "Report a post: reason spam | inappropriate | off_topic | other (+ text)", api_moderation.ReportIn, 201),
    ApiRoute("GET", "/api/v1/moderation/queue", api_moderation.queue, "api.moderation.queue",
             "Open reports, one item per post (admins: all; moderators: their groups)",
             query=(("group_id", "integer", False),)),
    ApiRoute("POST", "/api/v1/moderation/queue/{item_id}/resolve", api_moderation.resolve,
             "api.moderation.resolve", "Resolve an item: dismiss | hide | delete | warn, with a reason",
             api_moderation.ResolveIn),
    ApiRoute("GET", "/api/v1/audit", api_audit.entries, "api.audit",
             "The audit log, newest first (admins: all; moderators: their groups)",
             query=(("group_id", "integer", False), ("actor_id", "integer", False), ("action", "string", False),
                    ("before", "integer", False), ("since", "string", False), ("until", "string", False))),
    ApiRoute("GET", "/api/v1/pages", api_site_pages.list_pages, "api.pages", "The site's own pages", auth=False),
    ApiRoute("POST", "/api/v1/pages", api_site_pages.create_page, "api.pages.create",
             "Write a page (admin): slug, title, Markdown body, menu header|footer|none, menu_order",
             api_site_pages.PageIn, 201),
    ApiRoute("GET", "/api/v1/pages/{slug}", api_site_pages.get_page, "api.page", "A page", auth=False),
    ApiRoute("PATCH", "/api/v1/pages/{slug}", api_site_pages.update_page, "api.page.update",
             "Change a page (admin); the replaced version is kept", api_site_pages.PageUpdateIn),
    ApiRoute("DELETE", "/api/v1/pages/{slug}", api_site_pages.delete_page, "api.page.delete",
             "Delete a page (admin)"),
    ApiRoute("GET", "/api/v1/news", api_news.list_news, "api.news",
             "News the viewer may read, newest first (its editors also see scheduled and withdrawn items);"
             " filters group_id, tag, kind=news|interview|report|blog; pass `next` as `cursor`",
             auth=False, query=api_news.QUERY),
    ApiRoute("POST", "/api/v1/news", api_news.create_news, "api.news.create",
             "Publish news: site news (editors, admins; visibility public|members) or a group's (its moderators;"
             " visibility group). publish_at (ISO 8601; Dutch time without an offset) schedules it; comments"
             " go through the thread API on thread_id", api_news.NewsIn, 201),
    ApiRoute("GET", "/api/v1/news/{news_id}", api_news.get_news, "api.news.item", "A news item", auth=False),
    ApiRoute("PATCH", "/api/v1/news/{news_id}", api_news.update_news, "api.news.update",
             "Edit a news item (the replaced version is kept); published=false withdraws it, true puts it back",
             api_news.NewsUpdateIn),
    ApiRoute("DELETE", "/api/v1/news/{news_id}", api_news.delete_news, "api.news.delete",
             "Delete a news item and its comments"),
    ApiRoute("GET", "/api/v1/news/{news_id}/revisions", api_news.news_revisions, "api.news.revisions",
             "Earlier versions of a news item, newest first", auth=False),
    ApiRoute("GET", "/api/v1/events", api_events.list_events, "api.events",
             "Events the viewer may see: when=upcoming (soonest first, default) or past (latest first), group_id;"
             " or every event overlapping from..to (YYYY-MM-DD, Dutch days, at most a year); pass `next` as `cursor`",
             auth=False, query=api_events.QUERY),
    ApiRoute("POST", "/api/v1/events", api_events.create_event, "api.events.create",
             "Make an event: site events (editors, admins; visibility public|members) or a group's (its moderators;"
             " its members propose where the group allows it: status proposed until a moderator approves)."
             " starts_at/ends_at: ISO 8601, Dutch time without an offset; all_day: dates, ends_at the last day."
             " capacity null: no limit. questions: asked at sign-up. Comments go through the thread API on thread_id",
             api_events.EventIn, 201),
    ApiRoute("GET", "/api/v1/events/{event_id}", api_events.get_event, "api.event",
             "An event, with my_rsvp; location and online_url are null where only attendees see them", auth=False),
    ApiRoute("PATCH", "/api/v1/events/{event_id}", api_events.update_event, "api.event.update",
             "Change an event (organisers). status=cancelled calls it off (with cancel_reason; everyone who answered"
             " is told), status=scheduled approves a proposal or restores it. More capacity moves the waiting list"
             " up; less than is taken is refused", api_events.EventUpdateIn),
    ApiRoute("DELETE", "/api/v1/events/{event_id}", api_events.delete_event, "api.event.delete",
             "Delete an event and its comments (organisers); cancelling tells attendees, deleting does not"),
    ApiRoute("PUT", "/api/v1/events/{event_id}/rsvp", api_events.put_rsvp, "api.event.rsvp",
             "Answer going|maybe|no with answers to its questions ({question: answer}). Beyond capacity going"
             " means the waiting list (status waiting, position); closed after signup_deadline (leaving still works)",
             api_events.RsvpIn),
    ApiRoute("GET", "/api/v1/events/{event_id}/attendees", api_events.event_attendees, "api.event.attendees",
             "Everyone who answered, going first, then the waiting list in order (organisers); format=csv for a file",
             query=(("format", "string", False),)),
    ApiRoute("POST", "/api/v1/events/{event_id}/message", api_events.message, "api.event.message",
             "Write to attendees (organisers): audience=going or all (also waiting and maybe); each is told in the"
             " app and by mail as they chose", api_events.MessageIn),
    ApiRoute("GET", "/api/v1/groups/{group_id}/documents", api_documents.group_documents, "api.group.documents",
             "A group's library: the folders and documents in folder_id (none: its top) that the viewer may read",
             auth=False, query=(("folder_id", "integer", False),)),
    ApiRoute("POST", "/api/v1/groups/{group_id}/documents", api_documents.upload_to_group, "api.group.documents.upload",
             "Upload a document to a group's library (its members): multipart/form-data with file, title,"
             " description, folder_id. PDF, docx, xlsx, pptx, odt, ods, odp, png, jpeg, webp, text, CSV; the type"
             " is decided from the content; over FORUM_UPLOAD_MAX_MB (default 20) is refused with 413 while it"
             " streams", status=201, upload=("title", "description", "folder_id")),
    ApiRoute("POST", "/api/v1/groups/{group_id}/folders", api_documents.group_folder, "api.group.folders",
             "Make a folder in a group's library (its members)", api_documents.FolderIn, 201),
    ApiRoute("GET", "/api/v1/documents", api_documents.site_documents, "api.documents",
             "The site's library (folder_id as for a group's)", auth=False, query=(("folder_id", "integer", False),)),
    ApiRoute("POST", "/api/v1/documents", api_documents.upload_to_site, "api.documents.upload",
             "Upload to the site's library (editors, admins): as a group's, plus visibility=public|members",
             status=201, upload=("title", "description", "folder_id", "visibility")),
    ApiRoute("POST", "/api/v1/folders", api_documents.site_folder, "api.folders",
             "Make a folder in the site's library (editors, admins)", api_documents.FolderIn, 201),
    ApiRoute("PATCH", "/api/v1/folders/{folder_id}", api_documents.rename_folder, "api.folder.update",
             "Rename a folder (its maker while a member, the group's moderators; editors for the site's);"
             " 409 if the name is taken where it is", api_documents.FolderUpdateIn),
    ApiRoute("DELETE", "/api/v1/folders/{folder_id}", api_documents.delete_folder, "api.folder.delete",
             "Delete an empty folder (409 while anything is in it)"),
    ApiRoute("GET", "/api/v1/documents/{document_id}", api_documents.get_document, "api.document",
             "A document and its versions (newest first), each with its download_url", auth=False),
    ApiRoute("PATCH", "/api/v1/documents/{document_id}", api_documents.update_document, "api.document.update",
             "Rename, describe or move a document (its uploader, the group's moderators; editors for the site's)",
             api_documents.DocumentUpdateIn),
    ApiRoute("DELETE", "/api/v1/documents/{document_id}", api_documents.delete_document, "api.document.delete",
             "Delete a document with all its versions"),
    ApiRoute("POST", "/api/v1/documents/{document_id}/versions", api_documents.new_version,
             "api.document.versions", "Upload a new version (multipart/form-data, field file); the old ones are kept",
             status=201, upload=()),
    ApiRoute("GET", "/api/v1/search", api_search.search_view, "api.search",
             "Search what I may read: threads, posts, news, pages, groups, people. Words match whatever their"
             " accents, case or Dutch word form; \"quoted phrases\"; the last word is also a prefix when whole words"
             " find less than a page. type=thread|post|news|event|document|page|group|user,"
             " author=a username (or author_id), sort=relevance|date, from/to=YYYY-MM-DD; pass `next` as `cursor`"
             " for the following page",
             auth=False, query=api_search.QUERY),
    ApiRoute("GET", "/api/v1/admin/users", api_accounts.admin_users, "api.admin.users",
             "All accounts (admin); ?status=pending|active|suspended"),
    ApiRoute("PATCH", "/api/v1/admin/users/{user_id}", api_accounts.admin_set_role, "api.admin.user.role",
             "Change a site role (admin)", api_accounts.RoleIn),
    ApiRoute("POST", "/api/v1/admin/users/{user_id}/approve", api_accounts.admin_approve,
             "api.admin.user.approve", "Approve a pending account (admin)"),
    ApiRoute("POST", "/api/v1/admin/users/{user_id}/confirm-email", api_accounts.admin_confirm_email,
             "api.admin.user.confirm_email", "Confirm an account's e-mail address by hand (admin)"),
    ApiRoute("POST", "/api/v1/admin/users/{user_id}/suspend", api_accounts.admin_suspend,
             "api.admin.user.suspend", "Suspend an account and end its sessions (admin)", api_accounts.SuspendIn),
    ApiRoute("POST", "/api/v1/admin/users/{user_id}/unsuspend", api_accounts.admin_unsuspend,
             "api.admin.user.unsuspend", "Lift a suspension (admin)"),
    ApiRoute("GET", "/api/v1/admin/settings", api_accounts.admin_get_settings, "api.admin.settings",
             "Site settings (admin)"),
    ApiRoute("PUT", "/api/v1/admin/settings", api_accounts.admin_put_settings, "api.admin.settings.update",
             "Change site settings (admin)", api_accounts.SettingsIn),
]


def page_routes() -> list[web.RouteDef]:
    g, p = web.get, web.post
    return [
        g("/", threads.home, name="home"),
        g("/register", accounts.register_form, name="register"),
        p("/register", accounts.register_submit),
        g("/login", accounts.login_form, name="login"),
        p("/login", accounts.login_submit),
        p("/logout", accounts.logout, name="logout"),
        g("/password/forgot", accounts.forgot_form, name="password.forgot"),
        p("/password/forgot", accounts.forgot_submit),
        g("/password/reset/{token}", accounts.reset_form, name="password.reset"),
        p("/password/reset/{token}", accounts.reset_submit),
        p("/language", accounts.set_language, name="language"),
        g("/language", accounts.set_visitor_language),
        g("/users/@{handle}", accounts.profile_by_handle, name="user.by_handle"),  # before the id: "@x" is no id
        g("/users/{user_id}", accounts.profile, name="user"),
        g("/users/{user_id}/photo", accounts.photo, name="user.photo"),
        g("/people", accounts.directory, name="people"),
        g("/settings/profile", accounts.settings_form, name="settings.profile"),
        p("/settings/profile", accounts.settings_submit, name="settings.profile.submit"),
        g("/settings/password", accounts.password_form, name="settings.password"),
        p("/settings/password", accounts.password_submit),
        g("/groups", groups.index, name="groups"),
        g("/groups/new", groups.new_form, name="groups.new"),
        p("/groups/new", groups.new_submit),
        g("/groups/{group_id}", groups.show, name="group"),
        g("/groups/{group_id}/edit", groups.edit_form, name="group.edit"),
        p("/groups/{group_id}/edit", groups.edit_submit),
        p("/groups/{group_id}/image", groups.image_submit, name="group.image"),
        p("/groups/{group_id}/image/remove", groups.image_remove, name="group.image.remove"),
        g(r"/groups/{group_id}/{which:icon|banner}", groups.image, name="group.picture"),
        p("/groups/{group_id}/join", groups.join, name="group.join"),
        p("/groups/{group_id}/leave", groups.leave, name="group.leave"),
        g("/groups/{group_id}/members", groups.members, name="group.members"),
        p("/groups/{group_id}/members/{user_id}", groups.member_action, name="group.member"),
        p("/groups/{group_id}/invitations", groups.invite, name="group.invite"),
        g("/groups/{group_id}/threads/new", threads.new_form, name="thread.new"),
        p("/groups/{group_id}/threads/new", threads.new_submit, name="thread.new.submit"),
        g("/threads/{thread_id}", threads.show, name="thread"),
        p("/threads/{thread_id}/reply", threads.reply, name="thread.reply"),
        g("/threads/{thread_id}/reply", threads.to_reply_box),
        g("/threads/{thread_id}/edit", threads.rename_form, name="thread.edit"),
        p("/threads/{thread_id}/edit", threads.rename_submit),
        p("/threads/{thread_id}/moderate", threads.moderate, name="thread.moderate"),
        g("/posts/{post_id}", threads.show_post, name="post"),
        g("/posts/{post_id}/edit", threads.edit_form, name="post.edit"),
        p("/posts/{post_id}/edit", threads.edit_submit),
        p("/posts/{post_id}/delete", threads.delete, name="post.delete"),
        g("/posts/{post_id}/revisions", threads.revisions, name="post.revisions"),
        g("/search", search_page.index, name="search"),
        g("/notifications", notes.index, name="notifications"),
        p("/notifications/read", notes.mark_read, name="notifications.read"),
        g("/settings/notifications", notes.settings_form, name="settings.notifications"),
        p("/settings/notifications", notes.settings_submit),
        p("/threads/{thread_id}/subscription", notes.thread_level, name="thread.subscription"),
        p("/groups/{group_id}/subscription", notes.group_level, name="group.subscription"),
        p("/groups/{group_id}/read", notes.group_read, name="group.read"),
        g("/unsubscribe/{token}", notes.unsubscribe_form, name="unsubscribe"),
        p("/unsubscribe/{token}", notes.unsubscribe_submit),
        g("/audit", audit_page.index, name="audit"),
        g("/posts/{post_id}/report", moderation_page.report_form, name="post.report"),
        p("/posts/{post_id}/report", moderation_page.report_submit),
        g("/moderation", moderation_page.queue, name="moderation"),
        p("/moderation/{item_id}/resolve", moderation_page.resolve, name="moderation.resolve"),
        g("/admin/users", admin.users, name="admin.users"),
        p("/admin/users/{user_id}", admin.user_action, name="admin.user"),
        g("/admin/settings", admin.settings_form, name="admin.settings"),
        p("/admin/settings", admin.settings_submit),
        g("/admin/outbox", admin.outbox_page, name="admin.outbox"),
        g("/admin/outbox/{mail_id}", admin.mail, name="admin.mail"),
        p("/admin/outbox/{mail_id}/retry", admin_mail.retry, name="admin.mail.retry"),
    ]


def setup_routes(app: web.Application) -> None:
    app[openapi_key] = openapi.build(API_ROUTES)
    for route in API_ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    app.router.add_routes(page_routes())
    app.router.add_routes(onboarding.routes())
    app.router.add_routes(site_pages.routes())
    app.router.add_routes(news_pages.routes())
    app.router.add_routes(feeds.routes())
    app.router.add_routes(calendars.routes())  # before the event pages: /events/ID.ics is not /events/ID
    app.router.add_routes(event_pages.routes())
    app.router.add_routes(document_pages.routes())
    # answered before the middlewares (forum/web/page_cache.py): here for the other methods' 405
    app.router.add_get(health.HEALTH_PATH, health.healthz, name="healthz")
    app.router.add_get(health.READY_PATH, health.readyz, name="readyz")
    # follow_symlinks stays off and there is no listing: nothing outside static/ is served.
    app.router.add_static("/static/", ROOT / "static", name="static", show_index=False)
