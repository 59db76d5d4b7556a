// Draws the dashboard's charts from the JSON each section carries (a
// <script type="application/json"> in .dashboard-section), when the page loads and when
// htmx swaps a section in. Every chart's numbers are also in a table next to it, so
// nothing is only a picture.
(function () {
  "use strict";
  var palette = ["#1f5eff", "#b3261e", "#1e6b34", "#8a5a00", "#6b3fa0", "#00798c"];
  var dashes = [[], [6, 3], [2, 2], [10, 4], [4, 4, 1, 4], [1, 3]];

  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          var colour = palette[i % palette.length];
          // Lines differ by dash as well as colour, so colour is never the only cue.
          return Object.assign({}, set, {
            borderColor: colour,
            backgroundColor: colour,
            borderDash: spec.type === "line" ? dashes[i % dashes.length] : undefined,
            spanGaps: true
          });
        })
      },
      options: {
        responsive: true,
        animation: false,
        plugins: { title: { display: true, text: spec.title }, legend: { position: "bottom" } },
        scales: { y: { beginAtZero: true } }
      }
    });
  }

  function drawIn(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll('.dashboard-section > script[type="application/json"]').forEach(
      function (source) { JSON.parse(source.textContent).forEach(draw); }
    );
  }

  drawIn(document);
  document.body.addEventListener("htmx:afterSettle", function () { drawIn(document); });
})();
