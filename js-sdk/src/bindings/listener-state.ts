/**
 * The state of a live listener as UI bindings show it, and the one reducer that
 * advances it on each event. The React hook (react.ts) and the Vue composable (vue.ts)
 * both fold events through {@link reduceListenerView}; only how they store the state
 * differs. Pure: unit-tested on sources (js-sdk/test/unit/listener-state.test.ts).
 */
import type { LiveEvent } from "../live/listener.js";

/**
 * The event names `SpeechEventsNode` emits (crates/runtime/src/nodes/speech_events.rs):
 * per VAD frame, at an utterance's start and end.
 */
export const SPEECH_EVENTS = { frame: "frame", start: "speech_start", end: "speech_end" } as const;

/** What a binding shows of a listener's events. */
export interface ListenerView {
  /** Whether an utterance is in progress (between `speech_start` and `speech_end`). */
  speaking: boolean;
  /** The level of the latest VAD frame, in dBFS (from `frame` events); null before one. */
  levelDb: number | null;
  /** The latest events other than `frame`, oldest first (at most `keep`). */
  events: LiveEvent[];
  /** The `speech_end` events, each with its utterance's `audio` (at most `keep`). */
  utterances: LiveEvent[];
}

/** The view before any event. */
export function emptyListenerView(): ListenerView {
  return { speaking: false, levelDb: null, events: [], utterances: [] };
}

/**
 * The view after `event`, keeping at most `keep` events and utterances. Returns `view`
 * itself when nothing shown changed (a `frame` without a level), so bindings can skip
 * an update; otherwise a new object (the old one is not changed).
 */
export function reduceListenerView(view: ListenerView, event: LiveEvent, keep: number): ListenerView {
  if (event.event === SPEECH_EVENTS.frame) {
    return typeof event.level_db === "number" ? { ...view, levelDb: event.level_db } : view;
  }
  const events = [...view.events, event].slice(-keep);
  if (event.event === SPEECH_EVENTS.start) return { ...view, events, speaking: true };
  if (event.event === SPEECH_EVENTS.end) return { ...view, events, speaking: false, utterances: [...view.utterances, event].slice(-keep) };
  return { ...view, events };
}
