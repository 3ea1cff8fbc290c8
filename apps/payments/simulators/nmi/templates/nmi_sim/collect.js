/* NMI simulator — Collect.js, inline variant (protocols.md §1.7).
   The card fields are inputs inside iframes served by the simulator; the merchant's page only ever
   receives a payment token (ARCHITECTURE.md rule 11). The API copies Collect.js:
     <script src=".../token/Collect.js" data-tokenization-key="..."></script>
     CollectJS.configure({variant: "inline", fields: {ccnumber: {selector: "#ccnumber"}, ...},
                          callback: function (response) { response.token; response.card.number; ... }});
     CollectJS.startPaymentRequest();
   Without a callback, the token is put in a hidden `payment_token` input and the form of the
   payment button (data-payment-selector, default #payButton) is submitted, as Collect.js does. */
(function () {
  "use strict";
  var BASE = "{{ base|escapejs }}";
  var SIM_ORIGIN = new URL(BASE).origin;
  var SOURCE = "nmi-sim-collectjs";
  var FIELDS = ["ccnumber", "ccexp", "cvv"];
  var script = document.currentScript;
  var state = {config: null, sid: "", frames: {}, ready: 0, busy: false};

  function attr(name) { return script ? script.getAttribute(name) : null; }
  function newSid() { return Math.random().toString(16).slice(2) + Date.now().toString(16); }

  var DEFAULTS = {
    tokenizationKey: attr("data-tokenization-key") || "",
    variant: attr("data-variant") || "inline",
    paymentSelector: attr("data-payment-selector") || "#payButton",
    fields: {
      ccnumber: {selector: "#ccnumber", placeholder: "0000 0000 0000 0000", title: "Card number"},
      ccexp: {selector: "#ccexp", placeholder: "MM / YY", title: "Expiration date"},
      cvv: {selector: "#cvv", placeholder: "CVV", title: "Security code"}
    },
    callback: null,
    validationCallback: null,
    fieldsAvailableCallback: null
  };

  function merge(options) {
    var config = {}, key, field;
    for (key in DEFAULTS) { config[key] = DEFAULTS[key]; }
    for (key in options || {}) { if (key !== "fields") { config[key] = options[key]; } }
    config.fields = {};
    for (var i = 0; i < FIELDS.length; i++) {
      field = FIELDS[i];
      config.fields[field] = Object.assign({}, DEFAULTS.fields[field], ((options || {}).fields || {})[field] || {});
    }
    return config;
  }

  function unmount() {
    for (var field in state.frames) {
      if (state.frames[field].parentNode) { state.frames[field].parentNode.removeChild(state.frames[field]); }
    }
    state.frames = {};
    state.ready = 0;
  }

  function mount() {
    var config = state.config;
    state.sid = newSid();
    for (var i = 0; i < FIELDS.length; i++) {
      var field = FIELDS[i], spec = config.fields[field];
      var container = document.querySelector(spec.selector);
      if (!container) { continue; }
      var query = new URLSearchParams({field: field, sid: state.sid, key: config.tokenizationKey,
                                       origin: window.location.origin, placeholder: spec.placeholder || ""});
      var frame = document.createElement("iframe");
      frame.src = BASE + "/token/frame?" + query.toString();
      frame.name = "CollectJSInline_" + field + "_" + state.sid;
      frame.id = "CollectJS" + field;
      frame.title = spec.title || field;
      frame.setAttribute("frameborder", "0");
      frame.setAttribute("scrolling", "no");
      frame.style.cssText = "border:0;width:100%;height:42px;display:block;";
      container.appendChild(frame);
      state.frames[field] = frame;
    }
    var buttons = document.querySelectorAll(config.paymentSelector);
    for (var j = 0; j < buttons.length; j++) {
      if (buttons[j].getAttribute("data-collectjs-bound")) { continue; }
      buttons[j].setAttribute("data-collectjs-bound", "1");
      buttons[j].addEventListener("click", function (event) { event.preventDefault(); CollectJS.startPaymentRequest(); });
    }
  }

  function deliver(response) {
    state.busy = false;
    if (typeof state.config.callback === "function") { state.config.callback(response); return; }
    var button = document.querySelector(state.config.paymentSelector);
    var form = button && button.form ? button.form : (button ? button.closest("form") : null);
    if (!form) { return; }
    var input = form.querySelector("input[name=payment_token]") || document.createElement("input");
    input.type = "hidden";
    input.name = "payment_token";
    input.value = response.token;
    form.appendChild(input);
    form.submit();
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== SIM_ORIGIN || !data || data.source !== SOURCE || data.sid !== state.sid) { return; }
    if (data.type === "ready") {
      state.ready += 1;
      if (state.ready === Object.keys(state.frames).length && typeof state.config.fieldsAvailableCallback === "function") {
        state.config.fieldsAvailableCallback();
      }
    } else if (data.type === "token") {
      deliver(data.response);
    } else if (data.type === "validation") {
      state.busy = false;
      if (typeof state.config.validationCallback === "function") {
        state.config.validationCallback(data.invalidField, false, data.message);
      } else if (window.console) {
        console.warn("Collect.js: " + data.invalidField + ": " + data.message);
      }
    } else if (data.type === "error") {
      state.busy = false;
      if (window.console) { console.error("Collect.js: " + data.message); }
    }
  });

  var CollectJS = {
    configure: function (options) {
      state.config = merge(options);
      unmount();
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", mount);
      } else {
        mount();
      }
    },
    startPaymentRequest: function () {
      // With only the CVV field mounted, the token carries just the CVV (for a card in the Customer Vault).
      var cvvOnly = !state.frames.ccnumber && !state.frames.ccexp && !!state.frames.cvv;
      var frame = cvvOnly ? state.frames.cvv : state.frames.ccnumber;
      if (!frame) { throw new Error("Collect.js: no card number field is mounted"); }
      if (state.busy) { return; }
      state.busy = true;
      frame.contentWindow.postMessage({source: SOURCE, type: "tokenize", sid: state.sid, cvvOnly: cvvOnly}, SIM_ORIGIN);
    },
    clearInputs: function () {
      for (var field in state.frames) {
        state.frames[field].contentWindow.postMessage({source: SOURCE, type: "clear", sid: state.sid}, SIM_ORIGIN);
      }
    },
    get config() { return state.config; }
  };
  window.CollectJS = CollectJS;

  // Like Collect.js, work from the data-* attributes alone when the page never calls configure().
  function autoConfigure() { setTimeout(function () { if (!state.config) { CollectJS.configure({}); } }, 0); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autoConfigure);
  } else {
    autoConfigure();
  }
})();
