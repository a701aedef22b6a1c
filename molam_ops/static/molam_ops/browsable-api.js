// The browsable API's forms post through jQuery (rest_framework/js/ajax-form.js).
// Every request they make that can change state carries the page's
// Idempotency-Key (molam_ops/browsable.py says which key a page holds). A
// prefilter, not $.ajaxSetup: csrf.js sets ajaxSetup's beforeSend, which one
// of ours would replace.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="idempotency-key"]');
  if (!meta || !window.jQuery) {
    return;
  }
  var key = meta.getAttribute("content");
  window.jQuery.ajaxPrefilter(function (options, original, xhr) {
    if (!/^(GET|HEAD|OPTIONS|TRACE)$/i.test(options.type)) {
      xhr.setRequestHeader("Idempotency-Key", key);
    }
  });
})();
