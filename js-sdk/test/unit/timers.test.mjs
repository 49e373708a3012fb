// timers.ts: time limits as timer delays.
import { test } from "node:test";
import assert from "node:assert/strict";
import { timerDelay } from "../../src/timers.ts";

test("time limits longer than a timer can wait wait that long instead of firing at once", () => {
  assert.equal(timerDelay(1500), 1500);
  assert.equal(timerDelay(-3), 0);
  for (const ms of [2 ** 31, 2 ** 63, Number.POSITIVE_INFINITY]) assert.equal(timerDelay(ms), 2 ** 31 - 1);
});
