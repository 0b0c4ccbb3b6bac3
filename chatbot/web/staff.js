/*
 * Staff console: sign in with a key (sessionStorage only), ask with filters, read a topic's
 * timeline, list and open documents. No framework; all server text is set with textContent.
 */
(function () {
  "use strict";

  var KEY = "schaengel.staffKey";
  var $ = function (id) {
    return document.getElementById(id);
  };
  var state = { lastQuery: null, offset: 0 };

  function key() {
    return window.sessionStorage.getItem(KEY) || "";
  }

  function node(tag, text, className) {
    var el = document.createElement(tag);
    if (text !== undefined && text !== null) {
      el.textContent = String(text);
    }
    if (className) {
      el.className = className;
    }
    return el;
  }

  async function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (key()) {
      headers.Authorization = "Bearer " + key();
    }
    var response = await fetch(path, Object.assign({}, options, { headers: headers }));
    var data = null;
    try {
      data = await response.json();
    } catch (ignored) {
      /* empty body */
    }
    if (!response.ok) {
      var message = data && data.error ? data.error.message : "Unbekannter Fehler.";
      var error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function say(text) {
    $("status").textContent = "";
    window.setTimeout(function () {
      $("status").textContent = text;
    }, 30);
  }

  // --- sign in -------------------------------------------------------------------------------
  function showWork(signedIn) {
    $("login").hidden = signedIn;
    $("work").hidden = !signedIn;
  }

  $("login-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    window.sessionStorage.setItem(KEY, $("key").value);
    $("key").value = "";
    try {
      var info = await api("/api/v1/info");
      if (info.audience !== "staff") {
        throw new Error("Bitte geben Sie einen Zugangsschlüssel ein.");
      }
      $("login-message").textContent = "";
      showWork(true);
      $("q").focus();
    } catch (error) {
      window.sessionStorage.removeItem(KEY);
      $("login-message").textContent = error.message;
      $("key").focus();
    }
  });

  $("logout").addEventListener("click", function () {
    window.sessionStorage.removeItem(KEY);
    $("result-body").textContent = "";
    showWork(false);
    $("key").focus();
  });

  // --- queries -------------------------------------------------------------------------------
  function filters() {
    var f = {};
    if ($("f-type").value) f.type = [$("f-type").value];
    if ($("f-committee").value.trim()) f.committee = $("f-committee").value.trim();
    if ($("f-since").value) f.since = $("f-since").value;
    if ($("f-until").value) f.until = $("f-until").value;
    if ($("f-reference").value.trim()) f.reference = $("f-reference").value.trim();
    return f;
  }

  function sourceLine(source) {
    var parts = [source.reference, source.type, source.date || "o. D."].filter(Boolean);
    var where = source.page ? ", S. " + source.page : "";
    return "[" + source.n + "] " + parts.join(" · ") + where + " – " + source.title;
  }

  function openButton(documentId, label) {
    var button = node("button", "Dokument öffnen", "secondary");
    button.type = "button";
    button.setAttribute("aria-label", "Dokument öffnen: " + label);
    button.addEventListener("click", function () {
      openDocument(documentId, button);
    });
    return button;
  }

  function visibilityBadge(visibility) {
    return visibility === "internal" ? node("span", "nichtöffentlich", "badge internal") : null;
  }

  function renderAnswer(data) {
    var body = $("result-body");
    body.textContent = "";
    body.appendChild(node("p", data.answer, "answer"));
    if (data.sources.length) {
      body.appendChild(node("h3", "Quellen"));
      var list = node("ul", null, "sources");
      data.sources.forEach(function (source) {
        var item = node("li");
        item.appendChild(node("span", sourceLine(source)));
        var badge = visibilityBadge(source.visibility);
        if (badge) item.appendChild(badge);
        item.appendChild(node("p", source.snippet, "snippet"));
        item.appendChild(openButton(source.document_id, source.reference || source.title));
        list.appendChild(item);
      });
      body.appendChild(list);
    }
    say(data.refused ? "Keine belegte Antwort gefunden." : "Antwort mit " + data.sources.length + " Quellen.");
  }

  function renderTimeline(data) {
    var body = $("result-body");
    body.textContent = "";
    if (!data.timeline.length) {
      body.appendChild(node("p", "Keine Dokumente zu diesem Thema gefunden."));
      say("Keine Dokumente gefunden.");
      return;
    }
    var list = node("ol", null, "timeline");
    data.timeline.forEach(function (entry) {
      var item = node("li");
      var heading = node("strong", (entry.date || "o. D.") + " · " + (entry.reference || "–") + " · " + entry.type);
      item.appendChild(heading);
      if (entry.most_recent) item.appendChild(node("span", "aktuellster Stand", "badge"));
      var badge = visibilityBadge(entry.source.visibility);
      if (badge) item.appendChild(badge);
      item.appendChild(node("p", entry.title));
      item.appendChild(node("p", entry.snippet, "snippet"));
      item.appendChild(openButton(entry.source.document_id, entry.reference || entry.title));
      list.appendChild(item);
    });
    body.appendChild(list);
    say(data.timeline.length + " Dokumente, das älteste zuerst.");
  }

  function renderDocuments(data, append) {
    var body = $("result-body");
    var list = append ? body.querySelector("ul.documents") : null;
    if (!list) {
      body.textContent = "";
      body.appendChild(node("p", data.total + " Dokumente gefunden.", "small"));
      list = node("ul", null, "documents");
      body.appendChild(list);
    }
    data.items.forEach(function (doc) {
      var item = node("li");
      item.appendChild(node("strong", (doc.date || "o. D.") + " · " + (doc.reference || "–") + " · " + doc.type));
      var badge = visibilityBadge(doc.visibility);
      if (badge) item.appendChild(badge);
      item.appendChild(node("p", doc.title));
      item.appendChild(openButton(doc.document_id, doc.reference || doc.title));
      list.appendChild(item);
    });
    var more = body.querySelector("button.more");
    if (more) more.remove();
    if (data.offset + data.items.length < data.total) {
      more = node("button", "Weitere Dokumente laden", "secondary more");
      more.type = "button";
      more.addEventListener("click", function () {
        listDocuments(data.offset + data.limit, true);
      });
      body.appendChild(more);
    }
    say(data.items.length + " von " + data.total + " Dokumenten angezeigt.");
  }

  async function listDocuments(offset, append) {
    var params = new URLSearchParams();
    var f = filters();
    Object.keys(f).forEach(function (name) {
      [].concat(f[name]).forEach(function (value) {
        params.append(name, value);
      });
    });
    params.set("offset", String(offset));
    params.set("limit", "20");
    renderDocuments(await api("/api/v1/documents?" + params.toString()), append);
  }

  $("ask-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var mode = document.querySelector("input[name=mode]:checked").value;
    var question = $("q").value.trim();
    if (mode !== "documents" && !question) {
      say("Bitte geben Sie eine Frage oder ein Thema ein.");
      $("q").focus();
      return;
    }
    $("document").hidden = true;
    say("Suche läuft …");
    try {
      if (mode === "documents") {
        await listDocuments(0, false);
      } else {
        var payload = Object.assign({ question: question, timeline: mode === "timeline" }, filters());
        var data = await api("/api/v1/ask", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload),
        });
        if (mode === "timeline") renderTimeline(data);
        else renderAnswer(data);
      }
    } catch (error) {
      $("result-body").textContent = "";
      $("result-body").appendChild(node("p", error.message));
      say(error.message);
      if (error.status === 401) {
        window.sessionStorage.removeItem(KEY);
        showWork(false);
      }
    }
  });

  // --- documents -----------------------------------------------------------------------------
  var returnFocus = null;

  async function openDocument(documentId, opener) {
    returnFocus = opener;
    try {
      var doc = await api("/api/v1/documents/" + encodeURIComponent(documentId));
      $("document-h").textContent = doc.title || doc.reference || "Dokument";
      var meta = $("document-meta");
      meta.textContent = "";
      [
        ["Aktenzeichen", doc.reference],
        ["Art", doc.type],
        ["Datum", doc.date],
        ["Verfasser", doc.office],
        ["Gremien", doc.committees.map(function (c) { return c.committee; }).join(", ")],
        ["Sichtbarkeit", doc.visibility === "internal" ? "nichtöffentlich" : "öffentlich"],
      ].forEach(function (pair) {
        if (pair[1]) {
          meta.appendChild(node("dt", pair[0]));
          meta.appendChild(node("dd", pair[1]));
        }
      });
      if (/^https?:\/\//i.test(doc.url || "")) {
        var link = node("a", doc.url);
        link.href = doc.url;
        var dd = node("dd");
        dd.appendChild(link);
        meta.appendChild(node("dt", "Im Ratsinformationssystem"));
        meta.appendChild(dd);
      }
      var text = $("document-text");
      text.textContent = "";
      doc.text.split("\n").forEach(function (line) {
        if (line.trim()) text.appendChild(node("p", line));
      });
      $("document").hidden = false;
      $("document-h").focus();
    } catch (error) {
      say(error.message);
    }
  }

  $("document-close").addEventListener("click", function () {
    $("document").hidden = true;
    if (returnFocus && document.body.contains(returnFocus)) returnFocus.focus();
    else $("results-h").focus();
  });

  showWork(!!key());
})();
