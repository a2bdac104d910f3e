// Live updates. The pages work without this script; with it, on thread and group pages new
// replies appear in their place in the tree, edits and removals update in place, "typing" and
// "reading" show; on every page the notification bell follows the user's own channel; the
// reply box suggests @mentions; after a dropped connection the page resumes from the last
// event it saw.
(function () {
  "use strict";
  var root = document.getElementById("live");
  var bell = document.getElementById("bell");
  setUpMentions();
  setUpMenu();
  keepTokensFresh();
  // a form that came back with errors: start at the first field to put right (the summary
  // above it is announced as an alert)
  var invalid = document.querySelector("main [aria-invalid=true]");
  if (invalid) invalid.focus();
  if ((!root && !bell) || !window.WebSocket) return;

  var text = root ? JSON.parse(root.dataset.i18n) : {};
  // a page may listen to several channels ("site members group:3"); the first is its own
  var pageChannels = root && root.dataset.channels ? root.dataset.channels.split(" ") : [];
  var channel = pageChannels.length ? pageChannels[0] : null;
  var channels = pageChannels.concat(bell ? ["user:" + bell.dataset.userId] : []);
  var view = root ? root.dataset.view : "none";
  var locale = root ? root.dataset.locale : document.documentElement.lang;
  var lastId = root ? parseInt(root.dataset.lastEventId, 10) || 0 : null;
  var status = document.getElementById("live-status") || document.createElement("p");
  var activity = document.getElementById("live-activity") || document.getElementById("notification-live") ||
    document.createElement("p");
  var socket = null, retry = 0, unseen = [], presence = "", ended = false;
  var typists = {}, justPosted = {};  // who is typing (by user id), and when each last posted

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  // the server's one format for a moment ("6 dec 2026 14:05", Dutch time; forum.i18n.format_moment),
  // its month names from the page: Intl gives only the numbers, which differ in no language
  var momentParts = new Intl.DateTimeFormat("en-GB", {
    day: "numeric", month: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23", timeZone: "Europe/Amsterdam"
  });
  var timeFormat = { format: function (moment) {
    var p = {};
    momentParts.formatToParts(moment).forEach(function (part) { p[part.type] = part.value; });
    var month = (text.months || [])[parseInt(p.month, 10) - 1] || p.month;
    var day = String(parseInt(p.day, 10));  // "7 dec", as the server writes it (Chrome gives "07")
    if (p.hour + p.minute + p.second === "000000" && moment.getUTCMilliseconds() === 0) {
      return day + " " + month + " " + p.year;  // a date chosen without a time
    }
    return day + " " + month + " " + p.year + " " + p.hour + ":" + p.minute;
  } };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function showStatus() {
    var parts = [];
    if (socket === null && !ended) parts.push(text.reconnecting);
    if (presence) parts.push(presence);
    var names = Object.keys(typists).map(function (id) { return typists[id].name; });
    if (names.length) parts.push(fill(text.typing, { name: names.join(", ") }));
    var next = parts.join(" · ");
    // a live region speaks on every change: the same words set again (typing goes on) are not news
    if (status.textContent !== next) status.textContent = next;
  }

  function announce(message) {
    // A polite live region: screen readers hear new content without losing their place.
    activity.textContent = message;
  }

  function inView(node) {
    var box = node.getBoundingClientRect();
    return box.top < window.innerHeight && box.bottom > 0;
  }

  function noteUnseen(node) {
    if (inView(node)) return;
    unseen.push(node);
    var button = document.getElementById("live-unseen");
    if (!button) {
      button = el("button", { id: "live-unseen", type: "button", "class": "live-unseen" });
      button.addEventListener("click", function () {
        var first = unseen[0];
        unseen = [];
        button.remove();
        if (first) { first.scrollIntoView({ block: "center" }); first.setAttribute("tabindex", "-1"); first.focus(); }
        var newest = document.querySelectorAll("#posts li.post");
        if (newest.length) reportRead(parseInt(newest[newest.length - 1].dataset.postId, 10));
      });
      document.body.appendChild(button);
    }
    button.textContent = fill(text["new"], { num: unseen.length });
  }

  // --- thread page ----------------------------------------------------------------------

  function avatar(person) {  // as the server draws it (templates/macros.html): a photo, or initials
    if (person.photo_url) {
      return el("img", { "class": "avatar tiny", src: person.photo_url, alt: "", width: "28", height: "28" });
    }
    var words = person.display_name.split(/\s+/).filter(function (w) { return /^[\p{L}\p{N}]/u.test(w); });
    var letters = words.length ? words[0][0] + (words.length > 1 ? words[words.length - 1][0] : "") : "?";
    return el("span", { "class": "avatar initials tiny", "aria-hidden": "true" }, [letters.toUpperCase()]);
  }

  function postElement(post) {
    var indent = view === "tree" ? Math.min(post.depth, 6) : 0;
    var li = el("li", {
      "class": "post indent-" + indent + " live-new", id: "post-" + post.id, "data-post-id": String(post.id),
      "data-parent-id": post.parent_id ? String(post.parent_id) : "", "data-depth": String(post.depth)
    });
    // a post removed since arrives as its place alone (ids and flags), without author or time
    var header = el("header", {}, post.redacted ? [el("span", { id: "by-" + post.id })] : [
      el("span", { id: "by-" + post.id, "class": "by" }, [avatar(post.author),
        el("a", { href: "/users/" + post.author.id }, [post.author.display_name])]),
      " ",
      el("a", { "class": "meta", href: "#post-" + post.id }, [
        el("time", { datetime: post.created_at }, [timeFormat.format(new Date(post.created_at))])
      ])
    ]);
    var parent = post.parent_id && document.getElementById("post-" + post.parent_id);
    if (parent && (view !== "tree" || post.depth > 6)) {
      var name = parent.querySelector("header span a");
      header.appendChild(document.createTextNode(" "));
      header.appendChild(el("span", { "class": "meta" }, [text.reply_to + " ",
        el("a", { href: "#post-" + post.parent_id }, [name ? name.textContent : ""])]));
    }
    var body;
    if (post.redacted || post.deleted || post.hidden) {
      body = el("p", { "class": "removed" }, [post.hidden && !post.deleted ? text.hidden : text.removed]);
    } else {
      body = el("div", { "class": "body" });
      body.innerHTML = post.body_html; // rendered and sanitised on the server when it was written
    }
    li.appendChild(el("article", { "aria-labelledby": "by-" + post.id }, [header, body]));
    var list = document.getElementById("posts");
    li.appendChild(postActions(list, post));
    return li;
  }

  // the same links as a post rendered on the server (templates/thread_posts.html), by the same
  // rule (forum/policy.py: editable_posts, reportable_posts): one's own posts and, for the
  // group's moderators, every post may be edited; others' shown posts may be reported
  function postActions(list, post) {
    var shown = !(post.redacted || post.deleted || post.hidden);
    var own = bell && String(post.author.id) === bell.dataset.userId;
    var acts = list.dataset.actsOnPosts === "1";
    var mayEdit = !post.redacted && !post.deleted && (list.dataset.mayModerate === "1" || (acts && own));
    var whose = function () {
      return el("span", { "class": "visually-hidden" }, [", " + text.of_post + " " + post.author.display_name]);
    };
    var links = [];
    if (mayEdit) {
      links.push(el("a", { href: "/posts/" + post.id + "/edit" }, [text.edit, whose()]), " ");
      links.push(el("form", { method: "post", action: "/posts/" + post.id + "/delete", "class": "inline" }, [
        el("input", { type: "hidden", name: "csrf_token", value: csrfToken() }),
        el("button", { type: "submit", "class": "link" }, [text.delete, whose()])
      ]), " ");
    }
    if (list.dataset.mayReply === "1" && shown) {
      links.push(el("a", { href: list.dataset.pageUrl + (view === "chronological" ? "?view=chronological&reply_to=" : "?reply_to=") +
        post.id + "#body-" + post.id },
        [text.reply, whose()]), " ");
    }
    if (acts && !own && shown) {
      links.push(el("a", { href: "/posts/" + post.id + "/report", "class": "meta" }, [text.report, whose()]));
    }
    return links.length ? el("div", { "class": "actions" }, links) : document.createTextNode("");
  }

  function insertPost(post) {
    if (document.getElementById("post-" + post.id)) return; // already on the page
    var author = post.author.id;  // their typing is done: here it is
    justPosted[author] = Date.now();
    if (typists[author]) { clearTimeout(typists[author].timer); delete typists[author]; showStatus(); }
    var list = document.getElementById("posts");
    var parent = post.parent_id && document.getElementById("post-" + post.parent_id);
    // A long thread is read a page at a time (forum/services/discussions.py): a new post joins
    // this page only where the server would show it: under its parent when that is here and
    // its replies are not cut off by "Nog N reacties", or at the end of the last page while
    // that page has room (not on a page of one post's replies).
    var full = view === "tree" ? list.querySelectorAll('li.post[data-depth="0"]').length
      : list.querySelectorAll("li.post").length;
    var here = view === "tree" ? !!parent || (!post.parent_id && list.dataset.lastPage === "1" && !list.dataset.under)
      : list.dataset.lastPage === "1";
    if (here && !parent && full >= parseInt(list.dataset.pageSize, 10)) here = false;  // the next page's
    var after = null;
    if (here && view === "tree" && parent) {
      // after the parent's last descendant: the following siblings deeper than the parent
      var depth = parseInt(parent.dataset.depth, 10), next = parent.nextElementSibling;
      after = parent;
      while (next && parseInt(next.dataset.depth, 10) > depth) {
        if (next.classList.contains("more-replies")) { here = false; break; }  // its place is past the cut
        after = next;
        next = next.nextElementSibling;
      }
    }
    if (!here) {
      if (!post.redacted) elsewhere(post);
      return;
    }
    var li = postElement(post);
    if (after) after.after(li);
    else list.appendChild(li);
    if (post.redacted) return;
    announce(fill(text.new_post, { name: post.author.display_name }));
    if (inView(li)) reportRead(post.id);
    noteUnseen(li);
  }

  // a post that arrived on another page: said here (visibly, with a link to it) and politely
  // to a screen reader
  function elsewhere(post) {
    var message = fill(text.new_post_elsewhere, { name: post.author.display_name });
    announce(message);
    var note = document.getElementById("live-elsewhere");
    if (!note) return;
    var list = document.getElementById("posts");
    var href = list.dataset.pageUrl + (view === "chronological" ? "?view=chronological&post=" : "?post=") +
      post.id + "#post-" + post.id;
    note.textContent = message + ". ";
    note.appendChild(el("a", { href: href }, [text.show_it]));
    note.hidden = false;
  }

  function updatePost(post) {
    var li = document.getElementById("post-" + post.id);
    if (!li) return;
    var body = li.querySelector(".body");
    if (body) body.innerHTML = post.body_html;
    var header = li.querySelector("header");
    if (header && !header.querySelector(".live-edited")) {
      header.appendChild(el("a", { "class": "meta live-edited", href: "/posts/" + post.id + "/revisions" }, [text.edited]));
    }
  }

  function removePost(id, why) {
    var li = document.getElementById("post-" + id);
    if (!li) return;
    var body = li.querySelector(".body");
    if (body) body.replaceWith(el("p", { "class": "removed" }, [why || text.removed]));
    var actions = li.querySelector(".actions");
    if (actions) actions.remove();
  }

  // --- group page -----------------------------------------------------------------------

  function threadRow(thread) {
    var tags = [];
    if (thread.pinned) tags.push(el("span", { "class": "tag" }, [text.pinned]), " ");
    if (thread.locked) tags.push(el("span", { "class": "tag" }, [text.closed]), " ");
    var attrs = { "data-thread-id": String(thread.id), "class": "live-new" };
    if (thread.pinned) attrs["data-pinned"] = "1";
    return el("tr", attrs, [
      el("td", {}, tags.concat([el("a", { href: "/threads/" + thread.id }, [thread.title]), " ",
        el("span", { "class": "meta" }, [fill(text.by, { name: thread.author.display_name })])])),
      el("td", { "data-label": columnName(1) }, [String(thread.reply_count)]),
      el("td", { "data-label": columnName(2) }, [thread.last_poster.display_name ? thread.last_poster.display_name + ", " : "",
        el("time", { datetime: thread.last_activity_at }, [timeFormat.format(new Date(thread.last_activity_at))])])
    ]);
  }

  function columnName(index) {  // a stacked row (a phone) names its cells as the header does
    var head = document.querySelector("table.threads thead tr");
    return head && head.cells[index] ? head.cells[index].textContent : "";
  }

  function placeOnTop(rows, row, pinned) {
    // pinned threads head the list; the others follow, latest activity first
    var anchor = rows.firstElementChild;
    if (!pinned) while (anchor && anchor.dataset.pinned === "1") anchor = anchor.nextElementSibling;
    rows.insertBefore(row, anchor);
  }

  function insertThread(thread) {
    var rows = document.getElementById("thread-rows");
    if (!rows || rows.querySelector('[data-thread-id="' + thread.id + '"]')) return;
    var row = threadRow(thread);
    placeOnTop(rows, row, thread.pinned);
    rows.closest("table").hidden = false;
    var empty = document.getElementById("no-threads");
    if (empty) empty.remove();
    announce(fill(text.new_thread, { title: thread.title }));
    noteUnseen(row);
  }

  // --- news lists (Actueel, the news index, a group page) --------------------------------

  function newsEntry(news) {
    var meta = [el("span", { "class": "tag" }, [text["kind_" + news.kind] || news.kind]), " ",
      el("time", { datetime: news.publish_at }, [timeFormat.format(new Date(news.publish_at))])];
    if (news.group) meta.push(" · ", el("a", { href: "/groups/" + news.group.id }, [news.group.name]));
    if (news.visibility === "members") meta.push(" · " + text.members_only);
    var children = [el("h3", {}, [el("a", { href: news.url }, [news.title])]), el("p", { "class": "meta" }, meta)];
    if (news.summary) children.push(el("p", { "class": "summary" }, [news.summary]));
    if (news.tags && news.tags.length) {
      children.push(el("p", { "class": "tags" }, news.tags.map(function (tag) {
        return el("a", { "class": "tag", href: "/news?tag=" + encodeURIComponent(tag) }, [tag]);
      })));
    }
    return el("li", { "class": "news-entry live-new", id: "news-" + news.id }, [el("article", {}, children)]);
  }

  function showNews(news, isNew) {
    var list = document.getElementById("news-list");
    if (!list) return;
    var old = document.getElementById("news-" + news.id);
    if (!old && !isNew) return; // an edit of something this page does not list
    var entry = newsEntry(news);
    if (old) { old.replaceWith(entry); return; }
    list.insertBefore(entry, list.firstElementChild);
    list.hidden = false;
    var empty = document.getElementById("no-news");
    if (empty) empty.remove();
    announce(fill(text.new_news, { title: news.title }));
    noteUnseen(entry);
  }

  function updateThreadRow(thread) {
    var rows = document.getElementById("thread-rows");
    if (!rows) return;
    var old = rows.querySelector('[data-thread-id="' + thread.id + '"]');
    var time = old && old.querySelector("time");
    var active = !old || (time && time.getAttribute("datetime") !== thread.last_activity_at);
    var row = threadRow(thread);
    if (!old) {
      if (rows.dataset.firstPage === "1" && (thread.pinned || active)) placeOnTop(rows, row, thread.pinned);
      return;
    }
    if (active || (old.dataset.pinned === "1") !== thread.pinned) {
      old.remove();
      placeOnTop(rows, row, thread.pinned);
    } else {
      row.className = "";
      old.replaceWith(row);
    }
  }

  function updateThread(thread) {
    var title = document.getElementById("thread-title");
    if (title && title.textContent !== thread.title) {
      document.title = document.title.replace(title.textContent, thread.title);
      title.textContent = thread.title;
      announce(fill(text.renamed, { title: thread.title }));
    }
    var pinned = document.getElementById("thread-pinned");
    if (pinned) pinned.hidden = !thread.pinned;
    var list = document.getElementById("posts");
    var moderator = list.dataset.mayModerate === "1";
    var notice = document.getElementById("thread-locked");
    var reply = document.getElementById("reply");
    if (notice && notice.hidden === thread.locked) {
      notice.hidden = false;
      notice.textContent = thread.locked ? text.locked : text.reopened;
      if (!thread.locked && (reply || moderator)) notice.hidden = true;
      announce(notice.textContent);
    }
    if (!moderator) {
      // words being written stay on the screen (sending them answers that the discussion
      // is closed, and shows them again to be kept elsewhere)
      var writing = reply && reply.querySelector("textarea") && reply.querySelector("textarea").value.trim();
      if (reply) reply.hidden = thread.locked && !writing;
      list.querySelectorAll('.actions a[href*="reply_to="]').forEach(function (link) { link.hidden = thread.locked; });
      if (reply) list.dataset.mayReply = thread.locked ? "0" : "1";
    }
    var lock = document.getElementById("thread-lock"), pin = document.getElementById("thread-pin");
    if (lock) { lock.value = thread.locked ? "unlock" : "lock"; lock.textContent = thread.locked ? text.unlock : text.lock; }
    if (pin) { pin.value = thread.pinned ? "unpin" : "pin"; pin.textContent = thread.pinned ? text.unpin : text.pin; }
  }

  // --- notifications and reading -----------------------------------------------------------

  function csrfToken() {
    var input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function showUnread(count) {
    var badge = document.getElementById("bell-count");
    if (!badge) return;
    badge.hidden = !count;
    badge.firstChild.nodeValue = String(count);
  }

  function announceNotification(data) {
    // The event carries only the notification's id: its words come from the API, which
    // judges at this moment whether they may still be shown.
    fetch("/api/v1/notifications?unread=1", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (page) {
        showUnread(page ? page.unread_count : data.unread_count);
        var note = page && page.notifications.filter(function (n) { return n.id === data.notification.id; })[0];
        if (note) document.getElementById("notification-live").textContent = note.text;
      }, function () { showUnread(data.unread_count); });
  }

  var readTimer = null, readUpTo = 0;
  function reportRead(postId) {
    // the server keeps what was read, so other devices show it as read too
    var list = document.getElementById("posts");
    if (!bell || !list || document.visibilityState !== "visible") return;
    readUpTo = Math.max(readUpTo, postId);
    if (readTimer) return;
    readTimer = setTimeout(function () {
      readTimer = null;
      fetch("/api/v1/threads/" + list.dataset.threadId + "/read", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ post_id: readUpTo })
      }).then(function (response) {
        if (response.status >= 500) throw new Error(String(response.status));
      }).catch(function () {
        // the server is away (a restart): say it again later, or other devices keep it unread
        setTimeout(function () { reportRead(readUpTo); }, 10000);
      });
    }, 2000);
  }

  // --- events: their counts on the event's page ---------------------------------------

  function showEventCounts(event) {
    var counts = document.getElementById("event-counts");
    if (!counts || String(event.id) !== counts.dataset.eventId) return;
    ["going", "waiting", "maybe"].forEach(function (name) {
      var number = counts.querySelector('[data-count="' + name + '"]');
      if (number && typeof event[name] === "number") number.textContent = String(event[name]);
    });
  }

  // --- the connection -------------------------------------------------------------------

  function handle(message) {
    if (message.type === "event") {
      if (lastId !== null && message.id <= lastId) return;
      lastId = message.id;
      var data = message.data;
      if (data.redacted) {  // about something removed since: nothing to show, and not to keep showing
        if (data.news_id) { var withdrawn = document.getElementById("news-" + data.news_id); if (withdrawn) withdrawn.remove(); }
        return;
      }
      if (message.kind === "news.published") { showNews(data.news, true); return; }
      if (message.kind === "news.updated") { showNews(data.news, false); return; }
      if (message.kind === "news.removed") {
        var removed = document.getElementById("news-" + data.news_id);
        if (removed) removed.remove();
        return;
      }
      if (message.kind === "event.rsvp" || message.kind === "event.updated") { showEventCounts(data.event); return; }
      if (message.kind === "event.created") {
        var notice = document.getElementById("events-new");
        if (notice && view === "events") notice.hidden = false;
        return;
      }
      if (message.kind === "notification.created") announceNotification(data);
      else if (message.kind === "notification.read") showUnread(data.unread_count);
      else if (message.kind === "post.created") insertPost(data.post);
      else if (message.kind === "post.edited" && (data.post.redacted || data.post.hidden || data.post.deleted)) {
        removePost(data.post.id, data.post.hidden && !data.post.deleted ? text.hidden : text.removed);
      }
      else if (message.kind === "post.edited") updatePost(data.post);
      else if (message.kind === "post.deleted") removePost(data.post_id);
      else if (message.kind === "post.hidden") removePost(data.post_id, text.hidden);
      else if (data.thread && data.thread.redacted) return; // a thread removed or moved away since
      else if (message.kind === "thread.created") insertThread(data.thread);
      else if (message.kind === "thread.updated" && view === "group") updateThreadRow(data.thread);
      else if (message.kind === "thread.removed" && view === "group") {
        var gone = document.querySelector('#thread-rows [data-thread-id="' + data.thread_id + '"]');
        if (gone) gone.remove();
      } else if (message.kind === "thread.removed") {
        var notice = document.getElementById("thread-locked"), reply = document.getElementById("reply");
        if (notice) { notice.hidden = false; notice.textContent = text.thread_removed; announce(text.thread_removed); }
        if (reply) {  // words being written stay, to be copied; there is nowhere to send them now
          var words = reply.querySelector("textarea");
          if (words && words.value.trim()) {
            words.readOnly = true;
            reply.querySelectorAll("button, input[type=file]").forEach(function (control) { control.disabled = true; });
          } else {
            reply.hidden = true;
          }
        }
      }
      else if (message.kind === "thread.updated") updateThread(data.thread);
    } else if (message.type === "subscribed") {
      lastId = Math.max(lastId || 0, message.last_event_id);
    } else if (message.type === "reset") {
      window.location.reload(); // what was missed is no longer kept: start from the page again
    } else if (message.type === "presence") {
      presence = message.readers > 1 ? fill(text.reading, { num: message.readers }) : "";
      showStatus();
    } else if (message.type === "typing") {
      var who = message.user.id;
      // a keystroke's notice can arrive just after the reply it was part of: not typing any more
      if (justPosted[who] && Date.now() - justPosted[who] < 3000) return;
      if (typists[who]) clearTimeout(typists[who].timer);
      typists[who] = { name: message.user.display_name, timer: setTimeout(function () {
        delete typists[who]; showStatus();
      }, message.expires_in * 1000) };
      showStatus();
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + window.location.host + "/api/v1/live");
    ws.onopen = function () {
      socket = ws;
      retry = 0;
      var subscribe = { type: "subscribe", channels: channels };
      if (lastId !== null) subscribe.last_event_id = lastId;
      ws.send(JSON.stringify(subscribe));
      showStatus();
    };
    ws.onmessage = function (event) { handle(JSON.parse(event.data)); };
    ws.onclose = function (event) {
      socket = null;
      if (event.code === 4001) { ended = true; status.textContent = text.ended || ""; return; }
      showStatus();
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(500 * Math.pow(2, retry - 1), 15000) * (0.75 + Math.random() / 2));
    };
  }

  var box = document.querySelector("form.reply textarea");
  var lastTyping = 0;
  if (box && view !== "group") {
    box.addEventListener("input", function () {
      var now = Date.now();
      if (socket && now - lastTyping > 3000) {
        lastTyping = now;
        socket.send(JSON.stringify({ type: "typing", thread_id: parseInt(channel.split(":")[1], 10) }));
      }
    });
  }
  if (root) root.hidden = true;
  connect();

  // --- @mention suggestions ----------------------------------------------------------------
  // A combobox on the reply box: typing @ and a few letters lists the people who may be
  // mentioned there (members of the group), from /api/v1/mentions. Arrow keys move, Enter or
  // Tab takes one, Escape closes.
  function setUpMentions() {
    var holders = document.querySelectorAll("[data-mention-group]");
    Array.prototype.forEach.call(holders, function (holder) {
      var box = holder.querySelector("textarea");
      if (!box) return;
      var list = document.createElement("ul");
      list.id = "mentions-" + (box.id || "box");
      list.className = "mention-list";
      list.setAttribute("role", "listbox");
      list.hidden = true;
      box.after(list);
      box.setAttribute("aria-autocomplete", "list");
      box.setAttribute("aria-controls", list.id);
      var options = [], active = -1, asked = "", timer = null;

      function close() { list.hidden = true; options = []; active = -1; box.removeAttribute("aria-activedescendant"); }
      function mark(index) {
        active = index;
        options.forEach(function (item, n) { item.setAttribute("aria-selected", n === index ? "true" : "false"); });
        if (options[index]) box.setAttribute("aria-activedescendant", options[index].id);
      }
      function take(index) {
        var item = options[index];
        if (!item) return;
        var before = box.value.slice(0, box.selectionStart), after = box.value.slice(box.selectionStart);
        var start = before.lastIndexOf("@");
        box.value = before.slice(0, start) + "@" + item.dataset.handle + " " + after;
        var caret = start + item.dataset.handle.length + 2;
        box.setSelectionRange(caret, caret);
        close();
        box.focus();
      }
      function current() {
        var match = /(^|\s)@([a-z0-9-]{1,30})$/i.exec(box.value.slice(0, box.selectionStart));
        return match ? match[2] : null;
      }
      function ask(query) {
        asked = query;
        fetch("/api/v1/mentions?group_id=" + holder.dataset.mentionGroup + "&q=" + encodeURIComponent(query),
              { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { users: [] }; })
          .then(function (data) {
            if (asked !== query) return;
            list.textContent = "";
            options = data.users.map(function (user, n) {
              var item = document.createElement("li");
              item.id = list.id + "-" + n;
              item.setAttribute("role", "option");
              item.dataset.handle = user.handle;
              item.textContent = user.display_name + " (@" + user.handle + ")";
              item.addEventListener("mousedown", function (event) { event.preventDefault(); take(n); });
              list.appendChild(item);
              return item;
            });
            list.hidden = !options.length;
            if (options.length) mark(0);
          });
      }
      box.addEventListener("input", function () {
        var query = current();
        if (!query) { close(); return; }
        clearTimeout(timer);
        timer = setTimeout(function () { ask(query); }, 150);
      });
      box.addEventListener("keydown", function (event) {
        if (list.hidden) return;
        if (event.key === "ArrowDown") { event.preventDefault(); mark((active + 1) % options.length); }
        else if (event.key === "ArrowUp") { event.preventDefault(); mark((active - 1 + options.length) % options.length); }
        else if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); take(active); }
        else if (event.key === "Escape") { close(); }
      });
      box.addEventListener("blur", function () { setTimeout(close, 150); });
    });
  }

  // A form's token belongs to the session it was made for: after logging out and in again in
  // another tab, this tab's forms would be refused as expired and take the words typed in them
  // along. Coming back to the tab, the forms get the token of the session there is now.
  function keepTokensFresh() {
    var bellOf = document.getElementById("bell");
    if (!bellOf) return;  // logged in: only then can another tab change it
    function refresh() {
      if (document.visibilityState !== "visible") return;
      fetch("/api/v1/me", { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (me) {
        // someone else logged in there: this tab's words are not theirs to send
        if (!me || !me.csrf_token || String(me.user.id) !== bellOf.dataset.userId) return;
        document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) { input.value = me.csrf_token; });
      }).catch(function () {});
    }
    document.addEventListener("visibilitychange", refresh);
    window.addEventListener("focus", refresh);  // two windows side by side: coming back is a click, not a tab switch
    window.addEventListener("pageshow", function (event) { if (event.persisted) refresh(); });
  }

  // The phone's menu (a <details> that works without this): it closes with Escape (focus back
  // on its button), when the focus leaves it (so the focus is never hidden under the open
  // panel) and on a click elsewhere.
  function setUpMenu() {
    var menu = document.getElementById("site-menu");
    if (!menu) return;
    var summary = menu.querySelector("summary");
    function openAsPanel() { return menu.open && getComputedStyle(summary).display !== "none"; }
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && openAsPanel()) { menu.open = false; summary.focus(); }
    });
    menu.addEventListener("focusout", function (event) {
      if (openAsPanel() && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
    });
    document.addEventListener("click", function (event) {
      if (openAsPanel() && !menu.contains(event.target)) menu.open = false;
    });
  }
})();
