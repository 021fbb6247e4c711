// Rampart console: progressive enhancement only. Every page works without
// this file; the server checks everything again.
"use strict";
(function () {
  // Single-use links carry their token in the fragment (#token=...), which
  // browsers never send to a server: copy it into the form, then drop it
  // from the address bar and history.
  var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  var tokenInput = document.querySelector("input[data-fragment-token]");
  if (tokenInput && m) {
    tokenInput.value = decodeURIComponent(m[1]);
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  // Live password-policy feedback: mark each rule met or not as the user types.
  document.querySelectorAll("input[data-policy]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-policy"));
    if (!list) return;
    var min = parseInt(list.getAttribute("data-min"), 10) || 0;
    var max = parseInt(list.getAttribute("data-max"), 10) || 1024;
    var checks = {
      min_length: function (v) { return Array.from(v).length >= min; },
      max_length: function (v) { return Array.from(v).length <= max; },
      lowercase: function (v) { return /\p{Ll}/u.test(v); },
      uppercase: function (v) { return /\p{Lu}/u.test(v); },
      digit: function (v) { return /\p{Nd}/u.test(v); },
      symbol: function (v) { return /[^\p{L}\p{N}]/u.test(v); }
    };
    function update() {
      var v = input.value;
      list.querySelectorAll("li[data-rule]").forEach(function (li) {
        var check = checks[li.getAttribute("data-rule")];
        if (!check) return;
        var ok = v.length > 0 && check(v);
        li.classList.toggle("met", ok);
        li.classList.toggle("unmet", v.length > 0 && !ok);
      });
    }
    input.addEventListener("input", update);
    update();
  });

  // Copy buttons: shown only where the clipboard API exists.
  if (navigator.clipboard) {
    document.querySelectorAll("button[data-copy]").forEach(function (btn) {
      var target = document.getElementById(btn.getAttribute("data-copy"));
      if (!target) return;
      btn.hidden = false;
      btn.addEventListener("click", function () {
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          btn.textContent = "Copied";
        }, function () {
          btn.textContent = "Copy failed";
        });
      });
    });
  }
})();
