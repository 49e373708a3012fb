// bindings/listener-state.ts: the one reducer the React and Vue bindings share.
import { test } from "node:test";
import assert from "node:assert/strict";
import { emptyListenerView, reduceListenerView, SPEECH_EVENTS } from "../../src/bindings/listener-state.ts";

const ev = (event, fields = {}) => ({ t: 0, node: "events", event, ...fields });

test("frames set the level only; an utterance toggles speaking and is kept with its audio", () => {
  let view = emptyListenerView();
  const silentFrame = reduceListenerView(view, ev(SPEECH_EVENTS.frame), 10);
  assert.equal(silentFrame, view, "nothing shown changed: the same object");
  view = reduceListenerView(view, ev("frame", { level_db: -30 }), 10);
  assert.equal(view.levelDb, -30);
  assert.deepEqual(view.events, [], "frames are not listed");
  view = reduceListenerView(view, ev("speech_start"), 10);
  assert.equal(view.speaking, true);
  const end = ev("speech_end", { audio: new Float32Array(4) });
  const before = view;
  view = reduceListenerView(view, end, 10);
  assert.equal(view.speaking, false);
  assert.deepEqual(view.utterances, [end]);
  assert.deepEqual(before.utterances, [], "the old view is not changed");
  view = reduceListenerView(view, ev("misfire"), 10);
  assert.deepEqual(
    view.events.map((e) => e.event),
    ["speech_start", "speech_end", "misfire"],
  );
});

test("keep bounds the lists, oldest dropped first", () => {
  let view = emptyListenerView();
  for (let i = 0; i < 5; i++) view = reduceListenerView(view, ev("speech_end", { index: i }), 3);
  assert.deepEqual(
    view.utterances.map((e) => e.index),
    [2, 3, 4],
  );
  assert.equal(view.events.length, 3);
});
