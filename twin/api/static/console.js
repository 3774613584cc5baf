// twin console: live regions refreshed on server-sent events, and decision confirmations.
// Plain JavaScript, no libraries, nothing fetched from outside this server.
(function () {
  "use strict";
  var status = document.getElementById("live-status");

  async function refresh() {
    var response = await fetch(location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    if (!response.ok || response.redirected) return;
    var doc = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live]").forEach(function (region) {
      // Never swap a region the user is typing in.
      if (region.contains(document.activeElement) && document.activeElement.tagName !== "BODY") return;
      var fresh = doc.getElementById(region.id);
      if (!fresh) return;
      // A drawn map whose network and highlighted routes are unchanged is kept as it is (the
      // user's zoom included); one whose routes changed is swapped and drawn afresh (map.js).
      fresh.querySelectorAll("div.livemap").forEach(function (map) {
        var drawn = document.getElementById(map.id);
        if (drawn && drawn.dataset.ready === "yes" && ["network", "old", "new"].every(function (key) {
          return drawn.dataset[key] === map.dataset[key];
        })) map.replaceWith(drawn);
      });
      region.replaceWith(fresh);
    });
    // Times come from the server's clock (the daemon's, simulated in the demo), never the browser's.
    ["live-stamp", "clock"].forEach(function (id) {
      var mine = document.getElementById(id), fresh = doc.getElementById(id);
      if (mine && fresh) mine.textContent = fresh.textContent;
    });
    document.dispatchEvent(new CustomEvent("twin:refreshed"));
  }

  if (window.EventSource) {
    var source = new EventSource("/api/events");
    // Refresh on (re)connect too: whatever changed between the page's render, or a dropped
    // connection, and the stream's first marker would otherwise never show.
    source.addEventListener("hello", function () {
      if (status) status.classList.add("on");
      refresh().catch(function () {});
    });
    source.addEventListener("change", function () { refresh().catch(function () {}); });
    source.onerror = function () { if (status) status.classList.remove("on"); };
    // The server ends the stream when the session is signed out, expired or revoked.
    source.addEventListener("signed-out", function () {
      source.close();
      window.location.assign("/login");
    });
  }

  // <select data-autosubmit> sends its form on change (no inline handlers: the CSP forbids them).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) field.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    var verb = event.submitter ? event.submitter.value : "decide";
    if (!window.confirm(verb.toUpperCase() + " " + form.dataset.confirm + "?")) event.preventDefault();
  });
})();
