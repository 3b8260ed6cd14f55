// osqueue dashboard: live updates over Server-Sent Events, the overview chart, and form helpers.
// Data from the server only ever reaches the page through textContent and attributes.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const CHART_WINDOW_MS = 5 * 60 * 1000;
  const MIN_REFRESH_GAP_MS = 1500;
  const ACTIVITY_SHOWN = 100;

  const body = document.body;
  const page = body.dataset.page;
  const pollMs = Number(body.dataset.pollMs) || 1000;
  const numberFormat = new Intl.NumberFormat("en-US");

  // --- Confirmation before destructive actions -------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // --- Producer: the payload must be JSON before it is sent -------------------------------------
  const payload = document.getElementById("payload");
  if (payload instanceof HTMLTextAreaElement && payload.form) {
    const errorBox = document.getElementById("payload-error");
    const check = () => {
      let message = "";
      if (!payload.value.trim()) {
        message = "Enter a JSON value, e.g. {} or {\"to\": \"a@b.c\"}.";
      } else {
        try {
          JSON.parse(payload.value);
        } catch (error) {
          message = "Not valid JSON: " + error.message;
        }
      }
      payload.setCustomValidity(message);
      payload.classList.toggle("is-invalid", message !== "");
      if (errorBox) {
        errorBox.textContent = message;
        errorBox.hidden = message === "";
      }
      return message === "";
    };
    payload.addEventListener("input", check);
    payload.form.addEventListener("submit", (event) => {
      if (!check()) {
        event.preventDefault();
        payload.focus();
      }
    });
  }

  if (page === "login" || !window.EventSource) {
    return;
  }

  // --- Connection indicator -------------------------------------------------------------------
  const indicator = document.getElementById("connection");
  const brokerBanner = document.getElementById("broker-error");

  function setConnection(state, text, detail) {
    if (!indicator) return;
    indicator.className = "connection is-" + state;
    indicator.title = detail || "";
    const label = indicator.querySelector(".connection-text");
    if (label) label.textContent = text;
  }

  function showBroker(ok, error) {
    if (ok) {
      setConnection("ok", "Live");
    } else {
      setConnection("down", "Broker unreachable", error || "");
    }
    if (brokerBanner) {
      brokerBanner.textContent = ok ? "" : "The broker is not answering: " + (error || "no answer");
      brokerBanner.hidden = ok;
    }
  }

  // --- Live regions: parts of the page re-rendered by the server when the queue changed -------
  let renderedVersion = body.dataset.version;
  let refreshTimer = null;
  let refreshing = false;
  let lastRefresh = 0;

  function userIsEditing() {
    const active = document.activeElement;
    return active instanceof HTMLElement && active.closest("[data-live]") !== null &&
      active.matches("input, textarea, select");
  }

  function scheduleRefresh() {
    if (refreshTimer !== null || !document.querySelector("[data-live]")) return;
    const wait = Math.max(0, lastRefresh + MIN_REFRESH_GAP_MS - Date.now());
    refreshTimer = window.setTimeout(refreshRegions, wait);
  }

  async function refreshRegions() {
    refreshTimer = null;
    if (refreshing || document.visibilityState === "hidden" || userIsEditing()) {
      lastRefresh = Date.now();
      scheduleRefresh();
      return;
    }
    refreshing = true;
    try {
      const response = await fetch(window.location.href, {
        headers: { accept: "text/html" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.redirected) return;
      // DOMParser never runs scripts; the HTML comes from the server's escaped templates.
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const region of document.querySelectorAll("[data-live]")) {
        const replacement = fresh.getElementById(region.id);
        if (replacement && replacement.hasAttribute("data-live")) {
          region.replaceWith(document.adoptNode(replacement));
        } else if (region.dataset.gone && !region.classList.contains("is-gone")) {
          region.classList.add("is-gone");
          const note = document.createElement("p");
          note.className = "banner";
          note.textContent = region.dataset.gone;
          region.before(note);
        }
      }
      renderedVersion = fresh.body.dataset.version || renderedVersion;
    } catch (error) {
      // The stream reports connection problems; the next update tries again.
    } finally {
      refreshing = false;
      lastRefresh = Date.now();
    }
  }

  // --- Overview: counters, leader, activity log, chart -----------------------------------------
  const samples = [];

  function updateCounters(stats) {
    for (const element of document.querySelectorAll("[data-stat]")) {
      const value = stats ? stats[element.dataset.stat] : null;
      const text = value === null || value === undefined ? "\u2014" : numberFormat.format(value);
      if (element.textContent !== text) {
        element.textContent = text;
        element.classList.remove("is-changed");
        void element.offsetWidth; // restart the highlight animation
        element.classList.add("is-changed");
      }
    }
  }

  function updateLeader(leader) {
    const address = document.querySelector("[data-leader-address]");
    const age = document.querySelector("[data-leader-age]");
    if (address) address.textContent = (leader && leader.address) || "\u2014";
    if (age) age.textContent = (leader && leader.heartbeatAge) || "unknown";
  }

  function activityItem(event) {
    const item = document.createElement("li");
    item.className = "activity-item activity-" + event.kind;
    const time = document.createElement("time");
    const when = new Date(event.at);
    time.dateTime = when.toISOString();
    time.textContent = when.toISOString().replace("T", " ").slice(0, 19);
    const tag = document.createElement("span");
    tag.className = "tag tag-" + event.kind;
    tag.textContent = event.kind;
    let text;
    if (event.jobId) {
      text = document.createElement("a");
      text.href = "/jobs/" + encodeURIComponent(event.jobId);
    } else {
      text = document.createElement("span");
    }
    text.textContent = event.text;
    item.append(time, " ", tag, " ", text);
    return item;
  }

  function updateActivity(events, reset) {
    const list = document.getElementById("activity");
    if (!list) return;
    if (reset) list.replaceChildren();
    if (events.length) {
      const empty = list.querySelector(".activity-empty");
      if (empty) empty.remove();
    }
    for (const event of events) {
      list.prepend(activityItem(event));
    }
    while (list.children.length > ACTIVITY_SHOWN) list.lastElementChild.remove();
    if (!list.children.length) {
      const empty = document.createElement("li");
      empty.className = "activity-empty";
      empty.textContent = "Nothing yet \u2014 activity appears here as jobs move.";
      list.append(empty);
    }
  }

  function svgElement(tag, attributes, text) {
    const element = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  // A round step (1, 2 or 5 times a power of ten) giving about four grid lines up to `max`.
  function niceStep(max, integer) {
    const raw = Math.max(max, 1) / 4;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw);
    return integer ? Math.max(1, Math.round(step)) : step;
  }

  // The chart shows the last five minutes, or less while there is less history.
  function chartWindow() {
    if (samples.length < 2) return 60000;
    const span = samples[samples.length - 1].at - samples[0].at;
    return Math.min(CHART_WINDOW_MS, Math.max(60000, Math.ceil(span / 60000) * 60000));
  }

  function formatValue(value) {
    if (value >= 1000) return numberFormat.format(Math.round(value));
    if (Number.isInteger(value)) return String(value);
    return value.toFixed(1);
  }

  // series: [{key, className, area}]; integer: whether values are counts (whole-number grid).
  function drawChart(svg, series, integer) {
    const width = 640;
    const height = 200;
    const left = 52;
    const right = 12;
    const top = 12;
    const bottom = 26;
    const windowMs = chartWindow();
    const end = samples.length ? samples[samples.length - 1].at : Date.now();
    const start = end - windowMs;
    const visible = samples.filter((sample) => sample.at >= start);
    let max = 0;
    for (const sample of visible) {
      for (const line of series) max = Math.max(max, sample[line.key]);
    }
    const step = niceStep(max, integer);
    const yMax = step * Math.max(1, Math.ceil(max / step));
    const x = (at) => left + ((at - start) / windowMs) * (width - left - right);
    const y = (value) => top + (1 - value / yMax) * (height - top - bottom);
    const children = [];
    for (let value = 0; value <= yMax + step / 2; value += step) {
      children.push(svgElement("line", { class: "grid", x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      children.push(svgElement("text", { class: "axis", x: left - 8, y: y(value) + 4, "text-anchor": "end" },
        formatValue(value)));
    }
    const tickMs = windowMs <= 60000 ? 15000 : 60000;
    for (let ago = windowMs; ago >= 0; ago -= tickMs) {
      let label = "now";
      if (ago > 0) label = "\u2212" + (tickMs < 60000 ? ago / 1000 + " s" : ago / 60000 + " min");
      const anchor = ago === windowMs ? "start" : ago === 0 ? "end" : "middle";
      children.push(svgElement("text", { class: "axis", x: x(end - ago), y: height - 6, "text-anchor": anchor }, label));
    }
    for (const line of series) {
      if (!visible.length) break;
      const points = visible.map((sample) => x(sample.at).toFixed(1) + "," + y(sample[line.key]).toFixed(1));
      if (line.area) {
        const baseline = y(0).toFixed(1);
        const area = "M" + x(visible[0].at).toFixed(1) + "," + baseline + " L" + points.join(" L") +
          " L" + x(visible[visible.length - 1].at).toFixed(1) + "," + baseline + " Z";
        children.push(svgElement("path", { class: "area " + line.className, d: area }));
      }
      children.push(svgElement("path", { class: "line " + line.className, d: "M" + points.join(" L") }));
    }
    if (!visible.length) {
      children.push(svgElement("text", { class: "axis", x: width / 2, y: height / 2, "text-anchor": "middle" },
        "Collecting samples\u2026"));
    }
    svg.replaceChildren(...children);
  }

  function updateChart(newSamples, reset) {
    if (reset) samples.length = 0;
    samples.push(...newSamples);
    const horizon = (samples.length ? samples[samples.length - 1].at : Date.now()) - CHART_WINDOW_MS;
    while (samples.length && samples[0].at < horizon) samples.shift();
    const depth = document.getElementById("chart-depth");
    const rate = document.getElementById("chart-rate");
    if (depth) {
      drawChart(depth, [
        { key: "depth", className: "series-depth", area: true },
        { key: "inProgress", className: "series-progress" },
      ], true);
    }
    if (rate) {
      drawChart(rate, [
        { key: "submittedPerS", className: "series-submitted" },
        { key: "completedPerS", className: "series-completed" },
      ], false);
    }
    const last = samples[samples.length - 1];
    for (const element of document.querySelectorAll("[data-latest]")) {
      element.textContent = last ? formatValue(last[element.dataset.latest]) : "\u2014";
    }
  }

  // --- The stream -----------------------------------------------------------------------------
  let source = null;
  let watchdog = null;
  let retry = null;

  function onUpdate(message) {
    showBroker(message.ok, message.error);
    if (page === "overview") {
      updateCounters(message.stats);
      updateLeader(message.leader);
      updateActivity(message.activity, message.reset);
      updateChart(message.samples, message.reset);
    }
    if (String(message.version) !== renderedVersion) {
      renderedVersion = String(message.version);
      scheduleRefresh();
    }
  }

  function armWatchdog() {
    window.clearTimeout(watchdog);
    // The server sends an update every poll; silence this long means a dead connection.
    watchdog = window.setTimeout(() => {
      setConnection("offline", "Dashboard not responding, reconnecting\u2026");
      reconnect(0);
    }, Math.max(30000, pollMs * 10));
  }

  function reconnect(delay) {
    if (source) source.close();
    window.clearTimeout(retry);
    retry = window.setTimeout(connect, delay);
  }

  function connect() {
    source = new EventSource("/events");
    source.addEventListener("open", armWatchdog);
    source.addEventListener("update", (event) => {
      armWatchdog();
      onUpdate(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      setConnection("offline", "Dashboard disconnected, reconnecting\u2026");
      // EventSource retries by itself, except after an answer that is not a stream (e.g. a
      // restarted dashboard that wants a new login): then retry from here.
      if (source.readyState === EventSource.CLOSED) reconnect(3000);
    });
  }

  if (page === "overview") updateChart([], false);
  connect();
})();
