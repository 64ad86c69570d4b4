// portraitflow web preview: what both pages share (served as /frames.js by devices/web_server.py).
// The token, requests that carry it, the frame loop (one long poll at a time), alpha put back from the
// grey rows below the colour, and capture-to-screen latency measured on the server's own clock.
"use strict";

const Preview = (() => {
  // The token comes in the URL once; it is kept for this tab and taken out of the address bar (and
  // so out of screenshots and the history).
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    sessionStorage.setItem("portraitflow-token", fromUrl);
    history.replaceState(null, "", location.pathname);
  }
  const token = fromUrl || sessionStorage.getItem("portraitflow-token") || "";

  function request(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    if (token) headers["X-Portraitflow-Token"] = token;
    return fetch(path, Object.assign({cache: "no-store"}, options, {headers}));
  }

  async function post(path, body) {
    const response = await request(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify(body)});
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = {error: `HTTP ${response.status}`}; }
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
  }

  // The server's clock (ns, monotonic) minus this page's (performance.now, ms): the ping with the
  // shortest round trip bounds the error by half of it.
  let clockOffsetMs = null, bestRoundTrip = Infinity;
  async function syncClock() {
    for (let i = 0; i < 5; i += 1) {
      const sent = performance.now();
      let answer;
      try { answer = await (await request("/clock")).json(); } catch (error) { return; }
      const received = performance.now();
      const roundTrip = received - sent;
      if (roundTrip <= bestRoundTrip * 1.5 || clockOffsetMs === null) {
        bestRoundTrip = Math.min(bestRoundTrip, roundTrip);
        clockOffsetMs = answer.now_ns / 1e6 - (sent + received) / 2;
      }
    }
  }

  function percentile(values, q) {
    if (!values.length) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q / 100 * sorted.length))];
  }

  // Shows frames on `canvas` as they come. onFrame({number, latencyMs, width, height, alpha}) runs once
  // a frame is painted (the animation frame after drawing it).
  function runFrames(canvas, onFrame) {
    const context = canvas.getContext("2d");
    const scratch = document.createElement("canvas");
    const scratchContext = scratch.getContext("2d", {willReadFrequently: true});
    let shownNumber = 0, composed = null;
    // JPEG leaves a few levels of noise on the alpha: near 0 it would let the real background show
    // faintly through (in OBS, over the scene), near 255 the person; both ends are snapped
    const snap = new Uint8Array(256);
    for (let level = 0; level < 256; level += 1) snap[level] = level < 8 ? 0 : level > 247 ? 255 : level;
    const state = {shown: 0, latencies: [], width: 0, height: 0, alpha: false, stopped: false};

    function show(bitmap, alphaRows) {
      const width = bitmap.width, height = alphaRows > 0 ? bitmap.height - alphaRows : bitmap.height;
      if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
      if (alphaRows <= 0) { context.drawImage(bitmap, 0, 0); return; }
      if (scratch.width !== width || scratch.height !== bitmap.height) {
        scratch.width = width; scratch.height = bitmap.height;
      }
      scratchContext.drawImage(bitmap, 0, 0);
      const source = scratchContext.getImageData(0, 0, width, bitmap.height).data;
      if (!composed || composed.width !== width || composed.height !== height) {
        composed = context.createImageData(width, height);
      }
      const out = composed.data, size = width * height * 4, alphaStart = alphaRows * width * 4;
      out.set(source.subarray(0, size));
      for (let i = 3; i < size; i += 4) out[i] = snap[source[alphaStart + i - 2]];   // the grey's green
      context.putImageData(composed, 0, 0);
    }

    async function loop() {
      await syncClock();
      setInterval(syncClock, 10000);
      let next = request(`/frame.jpg?after=0`);
      while (!state.stopped) {
        try {
          const response = await next;
          if (response.status !== 200) {
            if (response.status !== 204) await new Promise((resolve) => setTimeout(resolve, 1000));
            next = request(`/frame.jpg?after=${shownNumber}`);
            continue;
          }
          const number = Number(response.headers.get("X-Frame-Number"));
          const captureNs = Number(response.headers.get("X-Capture-Ts-Ns"));
          const alphaRows = Number(response.headers.get("X-Alpha-Rows") || 0);
          const blob = await response.blob();
          next = request(`/frame.jpg?after=${number}`);     // ask for the next frame while this one decodes
          const bitmap = await createImageBitmap(blob);      // decodes off the main thread
          show(bitmap, alphaRows);
          state.width = bitmap.width; state.height = alphaRows > 0 ? bitmap.height - alphaRows : bitmap.height;
          state.alpha = alphaRows > 0;
          bitmap.close();
          shownNumber = number;
          requestAnimationFrame(() => {
            const paintedMs = performance.now();
            let latencyMs = null;
            if (clockOffsetMs !== null && captureNs > 0) {
              latencyMs = paintedMs + clockOffsetMs - captureNs / 1e6;
              state.latencies.push(latencyMs);
              if (state.latencies.length > 300) state.latencies.shift();
            }
            state.shown += 1;
            canvas.dataset.frame = String(number);
            if (onFrame) onFrame({number, latencyMs, width: state.width, height: state.height, alpha: state.alpha});
          });
        } catch (error) {
          await new Promise((resolve) => setTimeout(resolve, 500));   // the graph ended or restarts
          next = request(`/frame.jpg?after=${shownNumber}`);
        }
      }
    }
    loop();
    return state;
  }

  // Once a second: the shown frame rate and latency, to the caller and (with a token) to the server.
  function reportEverySecond(state, client, onReport) {
    let windowStart = performance.now();
    setInterval(() => {
      const now = performance.now();
      const fps = state.shown * 1000 / (now - windowStart);
      state.shown = 0; windowStart = now;
      const reading = {client, fps, frames: state.latencies.length,
                       latency_ms_p50: percentile(state.latencies, 50),
                       latency_ms_p99: percentile(state.latencies, 99)};
      for (const key of ["latency_ms_p50", "latency_ms_p99"]) {
        if (reading[key] !== null) reading[key] = Math.max(0, reading[key]);
      }
      if (onReport) onReport(reading);
      if (token) post("/client-stats", reading).catch(() => {});
    }, 1000);
  }

  return {token, request, post, runFrames, reportEverySecond, percentile};
})();
