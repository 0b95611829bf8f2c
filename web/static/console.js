// 减负直通车 工作台: small conveniences only. Every page and form works
// without this file.
(function () {
  'use strict';

  // Filters apply as soon as a choice changes.
  document.querySelectorAll('.autosubmit').forEach(function (el) {
    el.addEventListener('change', function () {
      if (el.form) {
        if (el.form.requestSubmit) { el.form.requestSubmit(); } else { el.form.submit(); }
      }
    });
  });

  // A form is sent once: its buttons are disabled right after the submit
  // (after, so the pressed button's name and value still go with it).
  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    form.addEventListener('submit', function () {
      window.setTimeout(function () {
        form.querySelectorAll('button[type="submit"], button:not([type])').forEach(function (b) {
          b.disabled = true;
        });
      }, 0);
    });
  });
}());
