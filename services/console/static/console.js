// The console's only script: the live alerts on the alerts page (an EventSource on the API's alert
// stream, relayed by the console under the signed-in session). Without it the page still works: the
// list is server-rendered and a reload shows what changed.
"use strict";
(function () {
  const box = document.getElementById("direct");
  if (!box || !window.EventSource) { return; }
  const state = document.getElementById("direct-etat");
  const list = document.getElementById("direct-nouvelles");
  const refresh = document.getElementById("direct-actualiser");
  const words = { fired: "nouvelle alerte", acknowledged: "prise en charge", assigned: "assignée",
    resolved: "résolue", resolved_by_hand: "résolue à la main", began_earlier: "commencée plus tôt", late: "mesure tardive", cleared: "revenue à la normale", retracted: "retirée" };
  let synced = false;
  const feed = new EventSource(box.dataset.feed);
  feed.addEventListener("open", function () { state.textContent = "Suivi en direct : actif."; });
  feed.addEventListener("error", function () { state.textContent = "Suivi en direct : interrompu, reconnexion…"; });
  feed.addEventListener("stream.synced", function () { synced = true; });
  feed.addEventListener("stream.end", function () { state.textContent = "Suivi en direct : terminé (session ou jeton expiré ?)."; feed.close(); });
  function changed(message) {
    if (!synced) { return; }
    let body;
    try { body = JSON.parse(message.data); } catch (e) { return; }
    const alert = body.alert || {};
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = "/console/alertes/" + encodeURIComponent(alert.id);
    link.textContent = (words[body.event] || body.event || "changement") + " : " + (alert.summary || ("alerte " + alert.id));
    item.appendChild(link);
    list.prepend(item);
    while (list.children.length > 10) { list.removeChild(list.lastChild); }
    refresh.hidden = false;
  }
  ["fired", "acknowledged", "assigned", "resolved", "resolved_by_hand", "began_earlier", "late", "cleared", "retracted", "changed"].forEach(function (kind) {
    feed.addEventListener("alert." + kind, changed);
  });
})();
