// The demo page's Live mode: the microphone through RemoteMedia.listen and the
// live-voice pipeline of the chosen detector (live-voice-silero.json: Silero VAD, 32 ms
// windows; live-voice.json: earshot, 30 ms frames). A rolling view of the last 10 s of VAD frames (level as height,
// speech in green) as they are decided, the current level, and the utterances, each
// playable (16 kHz float32 from the speech_end event, wrapped in a WAV).
const SECONDS = 10;

const $ = (id) => document.getElementById(id);

/** Wires the Live section to `rm`. */
export function setupLive(rm) {
  let listener = null;
  const frames = []; // {t, db, speech}
  const buttons = { start: $("live-start"), pause: $("live-pause"), stop: $("live-stop") };
  const show = (state) => {
    $("live-state").textContent = state;
    buttons.start.disabled = state !== "idle";
    buttons.pause.disabled = !["listening", "paused"].includes(state);
    buttons.pause.textContent = state === "paused" ? "Resume" : "Pause";
    buttons.stop.disabled = state === "idle";
  };
  show("idle");

  const onEvent = (e) => {
    if (e.event === "frame") {
      frames.push({ t: e.end, length: e.end - e.start, db: e.level_db, speech: e.is_speech });
      while (frames.length && frames[0].t < e.end - SECONDS) frames.shift();
      $("live-level").textContent = `${e.level_db.toFixed(1)} dBFS`;
      $("live-meter").value = Math.max(0, 100 + e.level_db);
      draw(frames);
    } else if (e.event === "speech_start") {
      $("live-speaking").textContent = `speaking since ${e.start.toFixed(2)} s`;
    } else if (e.event === "speech_end") {
      $("live-speaking").textContent = "";
      addUtterance(e);
    }
  };

  buttons.start.onclick = async () => {
    show("starting");
    frames.length = 0;
    try {
      // The detector chosen (Silero VAD or earshot): both feed SpeechEventsNode alike.
      const manifest = await (await fetch(`/examples/pipelines/${$("live-vad").value}.json`)).json();
      listener = await rm.listen(manifest, { onEvent, onError: (err) => ($("live-error").textContent = `${err.name}: ${err.message}`) });
      $("live-error").textContent = "";
      show(listener.state);
    } catch (err) {
      $("live-error").textContent = `${err.name}: ${err.message}`;
      show("idle");
    }
  };
  buttons.pause.onclick = () => {
    if (listener?.state === "paused") listener.resume();
    else listener?.pause();
    show(listener.state);
  };
  buttons.stop.onclick = async () => {
    const l = listener;
    listener = null;
    await l?.destroy();
    const s = l?.stats();
    if (s) $("live-stats").textContent = `${s.seconds.toFixed(1)} s heard, ${s.gaps + s.repeats} frames lost or repeated, event latency p50 ${s.latencyMs.p50?.toFixed(0)} ms / p95 ${s.latencyMs.p95?.toFixed(0)} ms`;
    show("idle");
  };
}

function draw(frames) {
  const canvas = $("live-wave");
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.fillStyle = "#0f172a";
  ctx.fillRect(0, 0, width, height);
  if (!frames.length) return;
  const end = frames[frames.length - 1].t;
  for (const f of frames) {
    const barWidth = Math.max(1, (width * f.length) / SECONDS);
    const x = width - ((end - f.t) / SECONDS) * width - barWidth;
    const h = Math.max(1, ((Math.max(-80, f.db) + 80) / 80) * height);
    ctx.fillStyle = f.speech ? "#22c55e" : "#64748b";
    ctx.fillRect(x, (height - h) / 2, barWidth, h);
  }
}

function addUtterance(e) {
  const item = document.createElement("li");
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.src = URL.createObjectURL(wav(e.audio, e.sampleRate));
  item.append(`${e.start.toFixed(2)} s to ${e.end.toFixed(2)} s (${(e.audio.length / e.sampleRate).toFixed(2)} s of audio) `, audio);
  $("live-utterances").prepend(item);
}

/** Mono float32 samples as a 16-bit PCM WAV file. */
function wav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 0x7fff, true));
  return new Blob([view.buffer], { type: "audio/wav" });
}
