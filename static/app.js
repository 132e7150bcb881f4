// The only script of our own: a network-error banner for slow or dropped connections.
(function () {
  function banner(show) {
    var el = document.getElementById("net-error");
    if (el) { el.hidden = !show; }
  }
  document.addEventListener("htmx:sendError", function () { banner(true); });
  document.addEventListener("htmx:timeout", function () { banner(true); });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful || (e.detail.xhr && e.detail.xhr.status)) { banner(false); }
  });
})();
