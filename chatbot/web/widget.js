/*
 * Schängel citizen widget — one dependency-free script, embedded with a single tag:
 *   <script src="https://host/widget.js" data-api="https://host" data-lang="de"
 *           data-title="…"></script>
 * data-api defaults to the folder the script was loaded from. No cookies, no storage, no
 * third-party requests. Model output is only ever rendered with textContent; links come from
 * the sources list (document metadata), never from answer text.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__schaengelWidget) {
    return;
  }
  window.__schaengelWidget = true;

  var P = "schaengel-w-";
  var scriptUrl = new URL(script.src, document.baseURI);
  var apiBase = (
    script.getAttribute("data-api") ||
    scriptUrl.href.replace(/\/widget\.js(?:[?#].*)?$/, "")
  ).replace(/\/+$/, "");
  var lang = script.getAttribute("data-lang") === "en" ? "en" : "de";
  var customTitle = script.getAttribute("data-title");
  var questionsLogged = false;
  var maxChars = 1000;

  var TEXT = {
    de: {
      launcher: "Fragen zum Stadtrat",
      title: "Schängel – Fragen an die Ratsdokumente",
      region: "Chat-Assistent",
      close: "Chat schließen",
      other: "English",
      otherLang: "en",
      notice: "Sie chatten mit einem KI-Assistenten.",
      noticeMore:
        "Die Antworten stammen nur aus öffentlichen Dokumenten des Stadtrats und können " +
        "Fehler enthalten. Bitte prüfen Sie die Quellen.",
      privacy: "Datenschutz: keine Cookies, kein Tracking. Ihre Fragen werden nicht gespeichert.",
      privacyLogged:
        "Datenschutz: keine Cookies, kein Tracking. Ihre Fragen werden zur Verbesserung des " +
        "Dienstes protokolliert.",
      label: "Ihre Frage",
      send: "Senden",
      you: "Sie",
      bot: "Schängel",
      sources: "Quellen",
      working: "Die Antwort wird erstellt …",
      error: "Die Antwort konnte nicht geladen werden. Bitte versuchen Sie es später erneut.",
      newWindow: " (öffnet in neuem Fenster)",
      helpful: "Hilfreich",
      unhelpful: "Nicht hilfreich",
      rateLabel: "War die Antwort hilfreich?",
      thanks: "Danke für Ihre Rückmeldung.",
      announce: "Antwort von Schängel: ",
      tooLong: "Die Frage ist zu lang.",
      undated: "o. D.",
      page: "S.",
    },
    en: {
      launcher: "Ask about the city council",
      title: "Schängel – questions about council documents",
      region: "Chat assistant",
      close: "Close chat",
      other: "Deutsch",
      otherLang: "de",
      notice: "You are chatting with an AI assistant.",
      noticeMore:
        "Answers come only from public documents of the city council and may contain " +
        "mistakes. Please check the sources.",
      privacy: "Privacy: no cookies, no tracking. Your questions are not stored.",
      privacyLogged:
        "Privacy: no cookies, no tracking. Your questions are logged to improve the service.",
      label: "Your question",
      send: "Send",
      you: "You",
      bot: "Schängel",
      sources: "Sources",
      working: "Preparing the answer …",
      error: "The answer could not be loaded. Please try again later.",
      newWindow: " (opens in a new window)",
      helpful: "Helpful",
      unhelpful: "Not helpful",
      rateLabel: "Was this answer helpful?",
      thanks: "Thank you for your feedback.",
      announce: "Answer from Schängel: ",
      tooLong: "The question is too long.",
      undated: "n. d.",
      page: "p.",
    },
  };

  function t(key) {
    return TEXT[lang][key];
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className
        .split(" ")
        .map(function (c) {
          return P + c;
        })
        .join(" ");
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // --- styles: a stylesheet next to the script (CSP-friendly: no inline styles) -----------
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = apiBase + "/widget.css";
  document.head.appendChild(css);

  // --- structure ----------------------------------------------------------------------------
  var root = el("aside", "root");
  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", P + "panel");

  var panel = el("section", "panel");
  panel.id = P + "panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", P + "title");

  var header = el("div", "header");
  var title = el("h2", "title");
  title.id = P + "title";
  var langButton = el("button", "lang");
  langButton.type = "button";
  var closeButton = el("button", "close", "×");
  closeButton.type = "button";
  header.append(title, langButton, closeButton);

  var body = el("div", "body");
  var notice = el("p", "notice");
  var noticeStrong = el("strong");
  var noticeMore = el("span");
  notice.append(noticeStrong, document.createTextNode(" "), noticeMore);
  var privacy = el("p", "privacy");
  var log = el("div", "log");
  body.append(notice, privacy, log);

  var live = el("div", "sr");
  live.setAttribute("aria-live", "polite");

  var form = el("form", "form");
  var label = el("label", "label");
  label.htmlFor = P + "input";
  var row = el("div", "row");
  var input = el("input", "input");
  input.id = P + "input";
  input.type = "text";
  input.autocomplete = "off";
  input.required = true;
  input.maxLength = maxChars;
  var send = el("button", "send");
  send.type = "submit";
  row.append(input, send);
  form.append(label, row);

  panel.append(header, body, live, form);
  root.append(panel, launcher);

  function applyLanguage() {
    root.lang = lang;
    panel.lang = lang;
    root.setAttribute("aria-label", t("region"));
    launcher.textContent = t("launcher");
    title.textContent = customTitle || t("title");
    langButton.textContent = t("other");
    langButton.lang = t("otherLang");
    closeButton.setAttribute("aria-label", t("close"));
    noticeStrong.textContent = t("notice");
    noticeMore.textContent = t("noticeMore");
    privacy.textContent = questionsLogged ? t("privacyLogged") : t("privacy");
    label.textContent = t("label");
    send.textContent = t("send");
  }
  applyLanguage();

  function mount() {
    document.body.appendChild(root);
  }
  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }

  // --- open, close, language -------------------------------------------------------------
  var infoLoaded = false;

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    input.focus();
    if (!infoLoaded) {
      infoLoaded = true;
      fetch(apiBase + "/api/v1/info", { credentials: "omit" })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (info) {
          if (info) {
            questionsLogged = !!info.questions_logged;
            maxChars = info.max_question_chars || maxChars;
            input.maxLength = maxChars;
            applyLanguage();
          }
        })
        .catch(function () {});
    }
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) {
      open();
    } else {
      close();
    }
  });
  closeButton.addEventListener("click", close);
  langButton.addEventListener("click", function () {
    lang = lang === "de" ? "en" : "de";
    applyLanguage();
    langButton.focus();
  });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      close();
    }
  });

  // --- answers ------------------------------------------------------------------------------
  var history = [];
  var busy = false;

  function sourceHref(source) {
    var url = String(source.url || "");
    if (/^https?:\/\//i.test(url)) {
      return url;
    }
    return apiBase + "/dokumente/" + encodeURIComponent(String(source.document_id || ""));
  }

  function renderSources(container, sources) {
    container.textContent = "";
    if (!sources || !sources.length) {
      container.hidden = true;
      return;
    }
    container.hidden = false;
    container.appendChild(el("p", "sources-title", t("sources")));
    var list = el("ul", "sources");
    sources.forEach(function (source) {
      var item = el("li");
      var link = el("a", "source-link");
      link.href = sourceHref(source);
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      var parts = [source.reference, source.type, source.date || t("undated")].filter(Boolean);
      var where = source.page ? ", " + t("page") + " " + source.page : "";
      link.textContent =
        "[" + source.n + "] " + parts.join(" · ") + where + " – " + (source.title || "");
      link.appendChild(el("span", "sr", t("newWindow")));
      item.appendChild(link);
      list.appendChild(item);
    });
    container.appendChild(list);
  }

  function renderFeedback(container, answerId) {
    if (!answerId) {
      return;
    }
    container.textContent = "";
    container.setAttribute("role", "group");
    container.setAttribute("aria-label", t("rateLabel"));
    [
      ["up", t("helpful")],
      ["down", t("unhelpful")],
    ].forEach(function (spec) {
      var button = el("button", "rate", spec[1]);
      button.type = "button";
      button.addEventListener("click", function () {
        fetch(apiBase + "/api/v1/feedback", {
          method: "POST",
          credentials: "omit",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ answer_id: answerId, rating: spec[0] }),
        }).catch(function () {});
        container.textContent = t("thanks");
        container.removeAttribute("role");
        container.removeAttribute("aria-label");
        container.setAttribute("tabindex", "-1");
        container.focus();
      });
      container.appendChild(button);
    });
  }

  function announce(text) {
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = text;
    }, 50);
  }

  function parseBlock(block) {
    var event = "message";
    var data = [];
    block.split(/\r?\n/).forEach(function (line) {
      if (line.indexOf("event:") === 0) {
        event = line.slice(6).trim();
      } else if (line.indexOf("data:") === 0) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
    });
    return { event: event, data: data.join("\n") };
  }

  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) {
        break;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      var blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      blocks.forEach(function (block) {
        if (block.trim()) {
          var parsed = parseBlock(block);
          onEvent(parsed.event, parsed.data ? JSON.parse(parsed.data) : null);
        }
      });
    }
  }

  async function errorMessage(response) {
    try {
      var data = await response.json();
      if (lang === "de" && data && data.error && data.error.message) {
        return data.error.message;
      }
      if (data && data.error && data.error.code === "question_too_long") {
        return t("tooLong");
      }
    } catch (ignored) {
      /* not JSON */
    }
    return t("error");
  }

  function addMessage(kind, who, text) {
    var message = el("div", "msg " + kind);
    message.appendChild(el("p", "who", who));
    var content = el("p", "text", text);
    message.appendChild(content);
    log.appendChild(message);
    body.scrollTop = body.scrollHeight;
    return { message: message, content: content };
  }

  async function ask(question) {
    busy = true;
    addMessage("user", t("you"), question);
    var reply = addMessage("bot", t("bot"), t("working"));
    reply.message.setAttribute("aria-busy", "true");
    var sourcesBox = el("div", "sources-box");
    sourcesBox.hidden = true;
    var feedbackBox = el("div", "feedback");
    reply.message.append(sourcesBox, feedbackBox);
    var streamed = "";
    var finalText = null;
    try {
      var response = await fetch(apiBase + "/api/v1/ask", {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ question: question, history: history.slice(-5), stream: true }),
      });
      if (!response.ok || !response.body) {
        finalText = await errorMessage(response);
        reply.content.textContent = finalText;
      } else {
        await readEvents(response, function (event, data) {
          if (event === "token" && data) {
            streamed += data.text;
            reply.content.textContent = streamed;
          } else if (event === "sources") {
            renderSources(sourcesBox, data);
          } else if (event === "done" && data) {
            finalText = data.answer;
            if (finalText !== streamed) {
              reply.content.textContent = finalText; // the checked answer replaces the draft
            }
            renderFeedback(feedbackBox, data.answer_id);
          } else if (event === "error" && data) {
            finalText = lang === "de" && data.message ? data.message : t("error");
            reply.content.textContent = finalText;
            renderSources(sourcesBox, []);
          }
        });
      }
    } catch (failure) {
      finalText = t("error");
      reply.content.textContent = finalText;
    }
    if (finalText === null) {
      finalText = streamed || t("error");
      reply.content.textContent = finalText;
    }
    reply.message.removeAttribute("aria-busy");
    history.push({ question: question, answer: finalText });
    announce(t("announce") + finalText);
    body.scrollTop = body.scrollHeight;
    busy = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) {
      return;
    }
    input.value = "";
    ask(question);
  });
})();
