// 减负直通车 — small enhancements. Every page works without this script.
(function () {
  "use strict";

  // After a failed submit, focus the error summary so a screen reader
  // reads every message at once (the layout also marks it autofocus).
  var summary = document.getElementById("page-error");
  if (summary && document.activeElement !== summary) {
    summary.focus();
  }

  // Copy the receipt.
  var copy = document.querySelector("[data-copy]");
  if (copy) {
    var status = document.getElementById("copy-status");
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var text = copy.getAttribute("data-copy");
      var done = function () { status.textContent = "已复制，请粘贴保存到安全的地方"; };
      var fallback = function () {
        var r = document.createRange();
        r.selectNodeContents(document.getElementById("receipt"));
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        status.textContent = "已选中查询码，请长按或按 Ctrl+C 复制";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  }

  // Anonymous switch: the contact fields are shown by CSS; the name is
  // required only for a real-name tip, and is cleared when switching back.
  var real = document.getElementById("identity-real");
  var anon = document.getElementById("identity-anon");
  if (real && anon) {
    var sync = function () {
      var name = document.getElementById("contact_name");
      name.required = real.checked;
      if (anon.checked) {
        ["contact_name", "contact_phone", "contact_email"].forEach(function (id) {
          document.getElementById(id).value = "";
        });
      }
    };
    real.addEventListener("change", sync);
    anon.addEventListener("change", sync);
  }

  // Character counter (characters, as the server counts them).
  document.querySelectorAll("[data-counter]").forEach(function (area) {
    var out = document.getElementById(area.getAttribute("data-counter"));
    var max = parseInt(area.getAttribute("maxlength"), 10) || 0;
    var update = function () {
      var n = Array.from(area.value.trim()).length;
      out.textContent = "已写 " + n + " 字" + (max ? " / 最多 " + max + " 字" : "");
      out.classList.toggle("over", n < 10 && n > 0);
    };
    out.hidden = false;
    area.addEventListener("input", update);
    update();
  });

  // One click, one submission.
  var form = document.getElementById("tip-form");
  if (form) {
    form.addEventListener("submit", function () {
      var b = document.getElementById("submit");
      window.setTimeout(function () { b.disabled = true; b.textContent = "正在提交…"; }, 0);
    });
  }
})();
