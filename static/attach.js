// Attaching a file while writing: in a form marked data-attach-group (a group whose library the
// writer may add to, or "site"; data-attach-where names the form's select of a group or "site"
// instead), a button uploads the chosen file to that library through the API and
// puts its line in the text: a link, or an image with its description still to be typed
// (selected, so typing replaces it). Without this script the form's own file field
// (macros.html, attach_field) sends the file with the text and the server adds the same line.
(function () {
  "use strict";
  function libraryOf(box, form) {
    var select = box.dataset.attachWhere && form.querySelector(box.dataset.attachWhere);
    var where = select ? select.value : box.dataset.attachGroup;
    return where === "site" ? "/api/v1/documents" : "/api/v1/groups/" + where + "/documents";
  }

  document.querySelectorAll("[data-attach-group], [data-attach-where]").forEach(function (box) {
    var textarea = box.querySelector("textarea");
    var form = box.closest("form");
    var token = form && form.querySelector("input[name=csrf_token]");
    if (!textarea || !token || !window.fetch || !window.FormData) return;
    var texts = box.dataset;
    var plain = form.querySelector("[data-attach-nojs]");
    if (plain) plain.remove();  // the button below does what the form's own file field did
    var picker = document.createElement("input");
    picker.type = "file";
    picker.hidden = true;
    picker.accept = ".pdf,.docx,.xlsx,.pptx,.odt,.ods,.odp,.png,.jpg,.jpeg,.webp,.txt,.csv";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary attach";
    button.textContent = texts.attachLabel;
    var status = document.createElement("p");
    status.className = "hint";
    status.setAttribute("role", "status");
    textarea.insertAdjacentElement("afterend", status);
    textarea.insertAdjacentElement("afterend", button);
    box.appendChild(picker);
    button.addEventListener("click", function () { picker.click(); });
    picker.addEventListener("change", function () {
      var file = picker.files[0];
      if (!file) return;
      var later = form.querySelector("input[name=publish_at]");
      if (box.hasAttribute("data-attach-not-yet") || (later && later.value)) {
        status.textContent = texts.attachLater;  // a file in the library is found before the news appears
        picker.value = "";
        return;
      }
      var data = new FormData();
      var audience = form.querySelector("input[name=visibility]:checked");
      if (audience && audience.value !== "group") data.append("visibility", audience.value);  // members-only news: members-only file
      data.append("file", file);
      status.textContent = texts.attachBusy;
      button.disabled = true;
      fetch(libraryOf(box, form), {
        method: "POST", body: data, credentials: "same-origin", headers: {"X-CSRF-Token": token.value}
      }).then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      }).then(function (answer) {
        if (!answer.ok) {
          status.textContent = answer.body.error.fields && answer.body.error.fields.file ||
            answer.body.error.message;
          return;
        }
        var doc = answer.body.document;
        var placeholder = texts.attachDescribe;
        var line = doc.image ? "![" + placeholder + "](" + doc.download_url + ")"
                             : "[" + doc.title.replace(/[\[\]]/g, "") + "](" + doc.url + ")";
        var at = textarea.selectionEnd || textarea.value.length;
        var before = textarea.value.slice(0, at), after = textarea.value.slice(at);
        // a paragraph of its own, as the server puts it without this script
        var gap = !before || /\n\n$/.test(before) ? "" : /\n$/.test(before) ? "\n" : "\n\n";
        textarea.value = before + gap + line + "\n" + after;
        textarea.focus();
        if (doc.image) {  // the description is the writer's to give: selected, typing replaces it
          var start = before.length + gap.length + 2;
          textarea.setSelectionRange(start, start + placeholder.length);
        }
        status.textContent = texts.attachDone;
      }).catch(function () {
        status.textContent = texts.attachFailed;
      }).then(function () {
        button.disabled = false;
        picker.value = "";
      });
    });
  });
})();
