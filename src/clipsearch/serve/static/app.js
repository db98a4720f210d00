// clipsearch serve: optional enhancements. Every page works without them.
// - a date picker next to each dd/mm/yyyy field;
// - filters (source checkboxes, sort) apply as soon as they change;
// - results update as you type (after a short pause), the URL following;
// - keys: "/" focuses the search box; j/k (or ↓/↑ outside a field) move between results, Enter opens one.
"use strict";

(function () {
  const form = document.getElementById("search");
  const box = form && form.elements.namedItem("q");

  function isoFromText(text) {
    const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(text);
    if (!m) return "";
    return `${m[3]}-${m[2].padStart(2, "0")}-${m[1].padStart(2, "0")}`;
  }

  function enhance(root) {
    for (const text of root.querySelectorAll("input[data-date]")) {
      if (text.dataset.enhanced) continue;
      text.dataset.enhanced = "1";
      const picker = document.createElement("input");
      picker.type = "date";
      picker.className = "picker";
      picker.tabIndex = -1;
      picker.setAttribute("aria-label", (text.getAttribute("aria-label") || "Ngày") + ": chọn trên lịch");
      picker.value = isoFromText(text.value);
      picker.addEventListener("change", () => {
        if (!picker.value) return;
        const [y, m, d] = picker.value.split("-");
        text.value = `${Number(d)}/${Number(m)}/${y}`;
      });
      text.after(picker);
    }
    for (const control of root.querySelectorAll("[data-autosubmit]")) {
      control.addEventListener("change", () => form.requestSubmit());
    }
  }

  // Results as you type: the page for the form's values, its <main> swapped in.
  let pending = 0;
  let timer = 0;
  async function refresh() {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params]) {
      if (!value || (key === "sort" && value === "relevance")) params.delete(key, value);
    }
    const target = params.toString() ? "/?" + params.toString() : "/";
    const ticket = ++pending;
    try {
      const answer = await fetch(target, { headers: { Accept: "text/html" } });
      const html = await answer.text();
      if (ticket !== pending) return; // a later keystroke won
      const page = new DOMParser().parseFromString(html, "text/html");
      const main = page.getElementById("main");
      if (!main) return;
      document.getElementById("main").replaceWith(main);
      document.title = page.title;
      history.replaceState(null, "", target);
      current = -1;
      enhance(main);
    } catch (e) {
      // the server is away: the form still submits the usual way
    }
  }
  if (box) {
    box.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 350);
    });
  }

  // Keyboard.
  let current = -1;
  function results() {
    return [...document.querySelectorAll("li.hit")];
  }
  function select(index) {
    const hits = results();
    if (!hits.length) return;
    current = Math.max(0, Math.min(hits.length - 1, index));
    hits.forEach((hit, i) => hit.classList.toggle("current", i === current));
    const link = hits[current].querySelector("h2 a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing && box) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && document.activeElement === box) {
      box.blur();
    } else if (!typing && (event.key === "j" || event.key === "ArrowDown")) {
      if (results().length) { event.preventDefault(); select(current + 1); }
    } else if (!typing && (event.key === "k" || event.key === "ArrowUp")) {
      if (results().length) { event.preventDefault(); select(current - 1); }
    }
  });

  enhance(document);
})();
