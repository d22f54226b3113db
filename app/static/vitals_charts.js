// Vital signs over time as charts (uPlot, vendored by `make setup`): one chart per signal.
//
// Each <figure class="vitals-chart" data-chart='SIGNAL'> (made by the vitals_charts macro of
// templates/_vitals_charts.html) becomes a chart. SIGNAL is JSON:
//
//   {"key": "pulse", "label": "Pulse", "unit": "/min",
//    "points": [[unix_seconds, value], ...],
//    "band": [low, high] or null,            the normal range, drawn as a shaded band
//    "alerts": [[unix_seconds, "urgent" | "emergency", "text"], ...],
//    "line": "Systolic",                     optional: the legend's name of `points` (default: label)
//    "series": {"label": "Diastolic", "points": [...], "band": [low, high] or null}}  optional second line
//
// Times show in the browser's time zone. Points outside their band get a red dot; alerts are
// vertical markers (colour by level, text as tooltip) and are listed under the chart. The chart
// has role="img" and an aria-label with the summary shown above it. A signal with no points
// shows "No readings in this period". Colours come from the --chart-* properties in style.css.
// After drawing, the figure carries data-drawn, data-band-y ("top bottom" of the band in canvas
// pixels) and data-out-of-band (the number of red dots).

const HEIGHT = 220;

function when(second) {
  return new Date(second * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function summary(signal, lines) {
  const [main, second] = lines;
  const values = main.points.map((point) => point[1]);
  const last = main.points[main.points.length - 1];
  const lastSecond = second && second.points.length ? `/${second.points[second.points.length - 1][1]}` : "";
  const parts = [`${signal.label}: latest ${last[1]}${lastSecond} ${signal.unit} on ${when(last[0])}`];
  if (values.length > 1) {
    parts.push(`${values.length} readings since ${when(main.points[0][0])}, ` +
               `from ${Math.min(...values)} to ${Math.max(...values)} ${signal.unit}`);
  }
  if (main.band) parts.push(`normal ${main.band[0]}–${main.band[1]} ${signal.unit}`);
  const alerts = (signal.alerts || []).length;
  if (alerts) parts.push(`${alerts} alert${alerts === 1 ? "" : "s"}`);
  return parts.join("; ") + ".";
}

function draw(figure, signal) {
  const style = getComputedStyle(figure);
  const colour = (name) => style.getPropertyValue(`--chart-${name}`).trim();
  const lines = [{ label: signal.line || signal.label, points: signal.points, band: signal.band,
                   colour: colour("line") }];
  if (signal.series) lines.push({ ...signal.series, colour: colour("second") });
  for (const line of lines) line.points = [...line.points].sort((a, b) => a[0] - b[0]);
  const alerts = signal.alerts || [];

  const text = summary(signal, lines);
  const caption = document.createElement("p");
  caption.className = "vitals-summary";
  caption.textContent = text;
  const plot = document.createElement("div");
  plot.className = "vitals-plot";
  plot.setAttribute("role", "img");
  plot.setAttribute("aria-label", text);
  figure.append(caption, plot);

  if (alerts.length) {
    const list = document.createElement("ul");
    list.className = "vitals-alerts";
    for (const [second, level, message] of alerts) {
      const item = document.createElement("li");
      item.className = level;
      item.textContent = `${when(second)}, ${level}: ${message}`;
      list.append(item);
    }
    figure.append(list);
  }

  const data = uPlot.join(lines.map((line) => [line.points.map((p) => p[0]), line.points.map((p) => p[1])]));
  const bands = lines.filter((line) => line.band).map((line) => line.band);
  const format = (u, value) => (value == null ? "–" : `${value} ${signal.unit}`);
  const axis = { stroke: colour("axis"), font: "12px system-ui, sans-serif", grid: { stroke: colour("grid") },
                 ticks: { stroke: colour("grid") } };

  const markers = alerts.map(([second, level, message]) => {
    const marker = document.createElement("span");
    marker.className = `vitals-alert ${level}`;
    marker.title = `${when(second)}, ${level}: ${message}`;
    return marker;
  });

  function drawBands(u) {
    u.ctx.fillStyle = colour("band");
    const edges = bands.map(([low, high]) => {
      const top = Math.round(u.valToPos(high, "y", true));
      const bottom = Math.round(u.valToPos(low, "y", true));
      u.ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
      return `${top} ${bottom}`;
    });
    figure.dataset.bandY = edges.join(",");
  }

  function drawOutOfBand(u) {
    const { ctx } = u;
    const radius = 4 * devicePixelRatio;
    let count = 0;
    ctx.fillStyle = colour("out");
    lines.forEach((line, index) => {
      if (!line.band) return;
      data[0].forEach((second, i) => {
        const value = data[index + 1][i];
        if (value == null || (value >= line.band[0] && value <= line.band[1])) return;
        ctx.beginPath();
        ctx.arc(u.valToPos(second, "x", true), u.valToPos(value, "y", true), radius, 0, 2 * Math.PI);
        ctx.fill();
        count += 1;
      });
    });
    figure.dataset.outOfBand = count;
  }

  function placeMarkers(u) {
    alerts.forEach(([second], i) => {
      const left = u.valToPos(second, "x");
      markers[i].hidden = left < 0 || left > u.over.clientWidth;
      markers[i].style.left = `${left}px`;
    });
  }

  const chart = new uPlot({
    width: plot.clientWidth,
    height: HEIGHT,
    scales: {
      // One reading: an hour either side (uPlot would span years).
      x: { time: true, range: (u, min, max) => (data[0].length > 1 ? [min, max] : [min - 3600, min + 3600]) },
      y: {
        // The range holds the readings and the normal band, with some room around them.
        range: (u, min, max) => {
          const low = Math.min(min, ...bands.map((band) => band[0]));
          const high = Math.max(max, ...bands.map((band) => band[1]));
          const pad = (high - low) * 0.1 || 1;
          return [low - pad, high + pad];
        },
      },
    },
    series: [
      {},
      ...lines.map((line) => ({
        label: line.label, stroke: line.colour, width: 2, spanGaps: true, value: format,
        points: { show: true, size: 6, fill: line.colour },
      })),
    ],
    axes: [axis, { ...axis, size: 48 }],
    cursor: { points: { size: 10 } },
    hooks: {
      drawClear: [drawBands],
      draw: [drawOutOfBand, placeMarkers, () => { figure.dataset.drawn = "true"; }],
    },
  }, data, plot);
  chart.over.append(...markers); // before the first drawing, which places them

  new ResizeObserver(() => {
    const width = plot.clientWidth;
    if (width && width !== chart.width) chart.setSize({ width, height: HEIGHT });
  }).observe(plot);
}

for (const figure of document.querySelectorAll(".vitals-chart[data-chart]")) {
  const signal = JSON.parse(figure.dataset.chart);
  if (signal.points.length) {
    draw(figure, signal);
  } else {
    const empty = document.createElement("p");
    empty.className = "vitals-empty";
    empty.textContent = "No readings in this period";
    figure.append(empty);
  }
}
