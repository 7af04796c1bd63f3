// The time the bridge ages its FDB against when nobody injects a clock: performance.now(), read
// at most once per turn of the event loop.
//
// Why: reading a clock costs ~40 ns here and allocates (performance.now() and Date.now() are
// calls into C++ that return a fresh HeapNumber) — as much as deciding the frame itself, and
// the bridge needs the time for every frame it learns from or forwards by the FDB. The kernel's
// bridge reads jiffies, a variable the timer tick keeps up to date, for the same reason. Here the
// first reader in a turn of the event loop reads the real clock and queues an immediate that
// marks the reading stale once the turn's callbacks have run; every other reader in that turn
// gets the same reading. The forwarder decides one
// batch of frames per turn, so a batch shares one reading, and an idle process has no timer
// waking it up to keep a clock current.
//
// How exact: the reading is as old as the current turn, which lasts as long as one batch takes
// (micro- to milliseconds). The kernel's ageing is coarser: br_fdb_cleanup runs at least 10 ms
// apart, and lookups between runs still use an entry that has just expired. Code that decides
// frames synchronously for a long time without yielding sees the time stand still; tests that
// need time to move inject their own clock instead.

let reading = 0;
let fresh = false;

function markStale(): void {
  fresh = false;
}

/** Milliseconds, monotonic (performance.now()), read once per turn of the event loop. */
export function loopNow(): number {
  if (!fresh) {
    reading = performance.now();
    fresh = true;
    setImmediate(markStale);
  }
  return reading;
}
