// Tables too wide for the screen scroll inside themselves (pingan.css). A keyboard must reach what is
// scrolled out of view, so such a table takes focus (tabindex=0) and arrow keys scroll it; a table that
// fits again gives it back. A file, not an inline script, so that the CSP can forbid inline scripts.
(function () {
  function mark() {
    document.querySelectorAll('main table').forEach(function (t) {
      if (t.scrollWidth > t.clientWidth + 1) {
        if (!t.hasAttribute('tabindex')) { t.setAttribute('tabindex', '0'); t.dataset.scrollFocus = '1'; }
      } else if (t.dataset.scrollFocus) {
        t.removeAttribute('tabindex'); delete t.dataset.scrollFocus;
      }
    });
  }
  document.addEventListener('DOMContentLoaded', mark);
  window.addEventListener('resize', mark);
  document.addEventListener('htmx:afterSettle', mark);
})();

// The folded menu's open heading closes on a click elsewhere or on Escape (its <details> open and
// close without script; one open at a time by their shared name).
(function () {
  function closeMenus(except) {
    document.querySelectorAll('header nav details[open]').forEach(function (d) {
      if (d !== except) { d.removeAttribute('open'); }
    });
  }
  document.addEventListener('click', function (e) {
    closeMenus(e.target.closest ? e.target.closest('header nav details') : null);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') { return; }
    var open = document.querySelector('header nav details[open]');
    if (open) { closeMenus(null); open.querySelector('summary').focus(); }
  });
})();
