// The live risk-event queue: new events arrive by server-sent events and go on top of the table.
// A file, not an inline script, so that the Content-Security-Policy can forbid inline scripts.
(function () {
  if (!window.EventSource) return;
  var body = document.querySelector('#queue tbody');
  var table = document.querySelector('#queue');
  var src = new EventSource('/risk/events/stream?after_id=' + encodeURIComponent(table.dataset.afterId || '0'));
  // The server ends the stream when the login does (expiry, logout): stop reconnecting then.
  src.addEventListener('end', function () { src.close(); });
  src.addEventListener('risk', function (msg) {
    var e = JSON.parse(msg.data), tr = document.createElement('tr');
    var cells = [e.id, e.occurred_at.replace('T', ' ').slice(0, 19), e.person_key.slice(0, 12) + (e.elderly ? ' 老年' : ''),
      (e.amount_fen / 100).toFixed(2), (e.amount_at_risk_fen / 100).toFixed(2), JSON.stringify(e.reasons), e.typology_guess || '', e.plan_id || ''];
    cells.forEach(function (c, i) {
      var td = document.createElement('td');
      if (i === 2) { var a = document.createElement('a'); a.href = '/risk/persons/' + e.person_key; a.textContent = c; td.appendChild(a); }
      else { td.textContent = c; }
      tr.appendChild(td);
    });
    body.insertBefore(tr, body.firstChild);
  });
})();
