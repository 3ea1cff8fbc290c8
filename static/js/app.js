// RevKeen dashboard behaviour: small, dependency-free, progressive (every page works without it).
(function () {
  "use strict";

  // Forms with data-confirm ask before submitting (remove member, revoke key, ...).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    // Copy buttons: data-copy="#selector".
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (!source) return;
      var text = source.textContent.trim();
      var label = copy.querySelector("span") || copy;
      var done = function () {
        label.textContent = "Copied";
        setTimeout(function () { label.textContent = "Copy"; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
      } else {
        selectText(source);
        try { document.execCommand("copy"); done(); } catch (e) { /* text stays selected for Ctrl+C */ }
      }
      return;
    }
    // Dismissable flash messages.
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var alert = dismiss.closest("[data-dismissable]");
      if (alert) alert.remove();
      return;
    }
    // Close open dropdown menus when clicking elsewhere.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // Live preview of brand colours.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.name || (input.name !== "brand_color" && input.name !== "accent_color")) return;
    var preview = document.querySelector("[data-brand-preview]");
    if (!preview) return;
    var card = preview.querySelector(".preview-card");
    card.style.setProperty(input.name === "brand_color" ? "--brand" : "--accent", input.value);
    preview.style.setProperty(input.name === "brand_color" ? "--brand" : "--accent", input.value);
    var code = preview.querySelector('[data-preview-value="' + input.name + '"]');
    if (code) code.textContent = input.value.toUpperCase();
  });

  function init(root) {
    // Pre-select the browser's time zone on a fresh form (the server default is UTC).
    root.querySelectorAll("select[data-detect-timezone]").forEach(function (select) {
      if (select.value !== "UTC" || select.closest(".has-error")) return;
      try {
        var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
      } catch (e) { /* keep UTC */ }
    });
    var preview = root.querySelector && root.querySelector("[data-brand-preview]");
    if (preview) {
      var card = preview.querySelector(".preview-card");
      preview.style.setProperty("--brand", card.style.getPropertyValue("--brand"));
      preview.style.setProperty("--accent", card.style.getPropertyValue("--accent"));
    }
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
