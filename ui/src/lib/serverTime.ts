// Every time the UI shows or judges is the server's (an expiry, "asked 2 min ago"), so its "now"
// is the server's too: this machine's clock corrected by how far ahead the core found the
// server's (`Status.server_clock_ahead_ms`, from its answers' Date headers). A laptop running
// three minutes fast would otherwise grey Approve out three minutes early.
let aheadMs = 0;

/** Called with each status the core reports. */
export function setServerClockAhead(ms: number): void {
  aheadMs = Number.isFinite(ms) ? ms : 0;
}

/** Now on the server's clock, in ms since the epoch. */
export function serverNow(): number {
  return Date.now() + aheadMs;
}
