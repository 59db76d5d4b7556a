/* LeadHub queue pages: SLA countdowns, and when the live list may be redrawn.
 *
 * Every <time class="countdown" data-due="ISO"> counts down once a second: "3:12 left",
 * then "overdue 1:05", in words and with a badge class (good / warn / bad), so the state is
 * never colour alone. A clock that is met, paused or breached is rendered by the server
 * without data-due and is left alone: the ticking stops when the clock does.
 */
(function () {
  "use strict";

  var URGENT_SECONDS = 120;

  function duration(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
    return (hours ? hours + ":" : "") + mm + ":" + String(secs).padStart(2, "0");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      var text, badge;
      if (left < 0) {
        text = "overdue " + duration(left);
        badge = "bad";
      } else {
        text = duration(left) + " left";
        badge = left <= URGENT_SECONDS ? "warn" : "good";
      }
      if (el.textContent !== text) el.textContent = text;
      el.classList.remove("good", "warn", "bad");
      el.classList.add(badge);
    });
  }

  /* The poller redraws the whole list; not while the rep is typing in or has opened one
     of its forms, nor while the tab is hidden. */
  window.leadhubQueueIdle = function () {
    if (document.hidden) return false;
    var live = document.getElementById("queue-live");
    if (!live) return true;
    if (live.querySelector("details[open]")) return false;
    var active = document.activeElement;
    return !(active && live.contains(active) && active.closest("form"));
  };

  tick();
  window.setInterval(tick, 1000);
})();
