// What every transport does when its link ends, by the WebSocket close code
// (docs/PROTOCOL.md, "Close codes"): the long-polling transport gets the same
// codes in its 410 answers.

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403; // banned or deactivated: retrying cannot help
// A worker shutting down, or one whose message bus reconnected: come back at once
// (to another worker), then resync. A short random delay spreads the herd.
export const CLOSE_SERVICE_RESTART = 1012;
const RESTART_SPREAD_MS = 1000;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 5000; // a restarted server is back within seconds

export class Backoff {
  constructor() {
    this.attempt = 0;
  }

  // The link is up: the next failure starts from the shortest delay.
  reset() {
    this.attempt = 0;
  }

  // How long to wait before reconnecting after a link ended with `code` (any
  // other value, e.g. null, for a network fault).
  delayAfter(code) {
    if (code === CLOSE_SERVICE_RESTART) {
      this.attempt = 0;
      return Math.random() * RESTART_SPREAD_MS;
    }
    // Full jitter: spread reconnects so a restarted server is not stampeded.
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }
}
