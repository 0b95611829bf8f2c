// 减负直通车 工作台: small conveniences only. Every page and form works
// without this file.
(function () {
  'use strict';

  // After a failed submit, focus the page's error so a screen reader
  // reads it first (the layout also marks it autofocus).
  var pageError = document.getElementById('page-error');
  if (pageError && document.activeElement !== pageError) {
    pageError.focus();
  }

  // A message under a field belongs to the field before it: screen readers
  // read it with the field, which is marked invalid. Templates that do
  // this themselves (the reject form) are left alone.
  document.querySelectorAll('.field-error').forEach(function (msg, i) {
    var el = msg.previousElementSibling;
    while (el && !/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) {
      if (el.tagName === 'LABEL' || el.tagName === 'LEGEND') { el = null; break; }
      el = el.previousElementSibling;
    }
    if (!el || el.hasAttribute('aria-invalid')) { return; }
    if (!msg.id) { msg.id = 'field-error-' + i; }
    el.setAttribute('aria-invalid', 'true');
    var by = el.getAttribute('aria-describedby');
    el.setAttribute('aria-describedby', (by ? by + ' ' : '') + msg.id);
  });

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
