// Live updates for thread and group pages. The pages work without this script; with it, new
// replies appear in their place in the tree, edits and removals update in place, "typing" and
// "reading" show, and after a dropped connection the page resumes from the last event it saw.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || !window.WebSocket) return;

  var text = JSON.parse(root.dataset.i18n);
  var channel = root.dataset.channels;
  var view = root.dataset.view;
  var locale = root.dataset.locale;
  var lastId = parseInt(root.dataset.lastEventId, 10) || 0;
  var status = document.getElementById("live-status");
  var activity = document.getElementById("live-activity");
  var socket = null, retry = 0, unseen = [], typingTimer = null, presence = "", ended = false;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return values[key]; });
  }

  var timeFormat = new Intl.DateTimeFormat(locale === "en" ? "en-GB" : "nl-NL", {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone: "Europe/Amsterdam"
  });

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
    if (typingTimer) parts.push(status.dataset.typing);
    status.textContent = parts.join(" · ");
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
      });
      document.body.appendChild(button);
    }
    button.textContent = fill(text["new"], { num: unseen.length });
  }

  // --- thread page ----------------------------------------------------------------------

  function postElement(post) {
    var indent = view === "tree" ? Math.min(post.depth, 6) : 0;
    var li = el("li", {
      "class": "post indent-" + indent + " live-new", id: "post-" + post.id, "data-post-id": String(post.id),
      "data-parent-id": post.parent_id ? String(post.parent_id) : "", "data-depth": String(post.depth)
    });
    var header = el("header", {}, [
      el("span", { id: "by-" + post.id }, [el("a", { href: "/users/" + post.author.id }, [post.author.display_name])]),
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
    var body = el("div", { "class": "body" });
    body.innerHTML = post.body_html; // rendered and sanitised on the server when it was written
    li.appendChild(el("article", { "aria-labelledby": "by-" + post.id }, [header, body]));
    var list = document.getElementById("posts");
    if (list.dataset.mayReply === "1") {
      li.appendChild(el("div", { "class": "actions" }, [
        el("a", { href: "/threads/" + list.dataset.threadId + "?reply_to=" + post.id + "#reply" }, [text.reply])
      ]));
    }
    return li;
  }

  function insertPost(post) {
    if (document.getElementById("post-" + post.id)) return; // already on the page
    var list = document.getElementById("posts");
    var li = postElement(post);
    var parent = post.parent_id && document.getElementById("post-" + post.parent_id);
    if (view === "tree" && parent) {
      // after the parent's last descendant: the following siblings deeper than the parent
      var depth = parseInt(parent.dataset.depth, 10), after = parent, next = parent.nextElementSibling;
      while (next && parseInt(next.dataset.depth, 10) > depth) { after = next; next = next.nextElementSibling; }
      after.after(li);
    } else {
      list.appendChild(li);
    }
    announce(fill(text.new_post, { name: post.author.display_name }));
    noteUnseen(li);
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

  function removePost(id) {
    var li = document.getElementById("post-" + id);
    if (!li) return;
    var body = li.querySelector(".body");
    if (body) body.replaceWith(el("p", { "class": "removed" }, [text.removed]));
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
      el("td", {}, [String(thread.reply_count)]),
      el("td", {}, [thread.last_poster.display_name + ", ",
        el("time", { datetime: thread.last_activity_at }, [timeFormat.format(new Date(thread.last_activity_at))])])
    ]);
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
      if (reply) reply.hidden = thread.locked;
      list.querySelectorAll('.actions a[href*="reply_to="]').forEach(function (link) { link.hidden = thread.locked; });
      if (reply) list.dataset.mayReply = thread.locked ? "0" : "1";
    }
    var lock = document.getElementById("thread-lock"), pin = document.getElementById("thread-pin");
    if (lock) { lock.value = thread.locked ? "unlock" : "lock"; lock.textContent = thread.locked ? text.unlock : text.lock; }
    if (pin) { pin.value = thread.pinned ? "unpin" : "pin"; pin.textContent = thread.pinned ? text.unpin : text.pin; }
  }

  // --- the connection -------------------------------------------------------------------

  function handle(message) {
    if (message.type === "event") {
      if (message.id <= lastId) return;
      lastId = message.id;
      var data = message.data;
      if (message.kind === "post.created") insertPost(data.post);
      else if (message.kind === "post.edited") updatePost(data.post);
      else if (message.kind === "post.deleted") removePost(data.post_id);
      else if (message.kind === "thread.created") insertThread(data.thread);
      else if (message.kind === "thread.updated" && view === "group") updateThreadRow(data.thread);
      else if (message.kind === "thread.updated") updateThread(data.thread);
    } else if (message.type === "subscribed") {
      lastId = Math.max(lastId, message.last_event_id);
    } else if (message.type === "reset") {
      window.location.reload(); // what was missed is no longer kept: start from the page again
    } else if (message.type === "presence") {
      presence = message.readers > 1 ? fill(text.reading, { num: message.readers }) : "";
      showStatus();
    } else if (message.type === "typing") {
      status.dataset.typing = fill(text.typing, { name: message.user.display_name });
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingTimer = null; showStatus(); }, message.expires_in * 1000);
      showStatus();
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + window.location.host + "/api/v1/live");
    ws.onopen = function () {
      socket = ws;
      retry = 0;
      ws.send(JSON.stringify({ type: "subscribe", channels: [channel], last_event_id: lastId }));
      showStatus();
    };
    ws.onmessage = function (event) { handle(JSON.parse(event.data)); };
    ws.onclose = function (event) {
      socket = null;
      if (event.code === 4001) { ended = true; status.textContent = text.ended; return; }
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
  root.hidden = true;
  connect();
})();
