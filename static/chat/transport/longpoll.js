// Protocol v1 over HTTP long-polling (chat/realtime/longpoll.py), for networks
// that refuse WebSockets. The same interface and callbacks as WebSocketTransport:
// a session (POST /poll/) stands for a socket, one GET always waits for the
// server's frames, emitted frames are POSTed in batches, and an ended session's
// 410 carries the close code a socket would have had, handled the same way.
import { receiveFrame } from "./acks.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED } from "./backoff.js";
import { Transport } from "./base.js";

const WAIT_SECONDS = 25; // the server's longest wait
// A poll held past its wait by a proxy has been lost: give up on it and reopen.
const GET_TIMEOUT_MS = (WAIT_SECONDS + 10) * 1000;
const REQUEST_TIMEOUT_MS = 15000;
// A POST's limits on the server: FRAMES_PER_POST frames, CHAT_MAX_FRAME_BYTES
// (64 KiB) of body. A batch stays well under both; a frame alone over the byte
// limit is refused (413) as a socket would close on it.
const FRAMES_PER_POST = 100;
const BATCH_BYTES = 32 * 1024;
const utf8 = new TextEncoder();

export class LongPollTransport extends Transport {
  constructor(options) {
    super(options);
    // The session being opened or open: {sid, url, open, posting, aborter}. Every
    // answer is checked against it, so one for an ended session changes nothing.
    this.session = null;
    this.outgoing = []; // frames emitted and not yet posted
    this.flushQueued = false;
    // A closing tab's socket closes by itself; a session would linger until the
    // server's idle limit (keeping us "online"), so say goodbye.
    this.onPageHide = () => this.forget(this.session);
    window.addEventListener("pagehide", this.onPageHide);
    this.connect();
  }

  get isOpen() {
    return this.session?.open === true;
  }

  // For good: no reconnect, and no more callbacks.
  close() {
    window.removeEventListener("pagehide", this.onPageHide);
    const session = this.session;
    this.session = null;
    if (session) {
      session.aborter.abort();
      this.forget(session);
    }
    this.outgoing = [];
    this.stop();
  }

  async connect() {
    const session = { sid: null, url: null, open: false, posting: false, aborter: new AbortController() };
    this.session = session;
    const answer = await this.call(session, "POST", this.url);
    if (this.session !== session) return;
    if (answer.status !== 200 || typeof answer.body.sid !== "string") {
      this.ended(session, answer.close);
      return;
    }
    session.sid = answer.body.sid;
    session.url = `${this.url}${encodeURIComponent(session.sid)}/`;
    session.open = true;
    this.backoff.reset();
    this.onOpen();
    if (this.session !== session) return; // closed by onOpen
    this.receive(session, answer.body.frames);
    this.poll(session);
  }

  // Keep one GET waiting for the server's frames for as long as the session lives.
  async poll(session) {
    while (this.session === session) {
      const answer = await this.call(session, "GET", `${session.url}?wait=${WAIT_SECONDS}`, {
        timeoutMs: GET_TIMEOUT_MS,
      });
      if (this.session !== session) return;
      if (answer.status !== 200) {
        this.ended(session, answer.close);
        return;
      }
      this.receive(session, answer.body.frames);
    }
  }

  // Frames emitted in the same task go in one POST, after it.
  send(frame) {
    this.outgoing.push(frame);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setTimeout(() => {
      this.flushQueued = false;
      this.flush();
    }, 0);
  }

  // One POST at a time, so that the server reads the frames in the order they
  // were emitted, as it would from a socket.
  async flush() {
    const session = this.session;
    if (!session?.open || session.posting || this.outgoing.length === 0) return;
    const batch = this.takeBatch();
    session.posting = true;
    const answer = await this.call(session, "POST", session.url, { body: JSON.stringify(batch) });
    session.posting = false;
    if (this.session !== session) return;
    if (answer.status === 200) {
      // Filled only when no GET was waiting; otherwise the replies come on it.
      this.receive(session, answer.body.frames);
    } else if (answer.status === 413 || answer.status === 400) {
      // Refused, and the session goes on: a socket would have closed (1009)
      // rather than leave these requests unanswered.
      this.refuse(batch, answer.status);
    } else {
      // The POST may or may not have got through: the app resends what is
      // unacknowledged after the reconnect, with the same clientIds.
      this.ended(session, answer.close);
      return;
    }
    this.flush();
  }

  takeBatch() {
    let bytes = 0;
    let count = 0;
    for (const frame of this.outgoing) {
      const size = utf8.encode(JSON.stringify(frame)).length + 1;
      if (count > 0 && (count === FRAMES_PER_POST || bytes + size > BATCH_BYTES)) break;
      bytes += size;
      count += 1;
    }
    return this.outgoing.splice(0, count);
  }

  refuse(batch, status) {
    const data =
      status === 413
        ? { status: "error", code: "too_long", msg: "That is too large to send." }
        : { status: "error", code: "bad_frame", msg: "The server could not read that." };
    for (const frame of batch) {
      if (frame.ack !== undefined) this.acks.settle({ ack: frame.ack, data });
    }
  }

  receive(session, frames) {
    for (const frame of frames) {
      // A handler that throws ends up reported, as it would from a socket's
      // message listener, and the other frames are still handled.
      if (this.session !== session) return;
      if (frame === null || typeof frame !== "object" || typeof frame.event !== "string") continue;
      try {
        receiveFrame(frame, this.acks, this.onEvent);
      } catch (error) {
        reportError(error);
      }
    }
  }

  // The session ended: `code` is its close code, or null for a network fault (or
  // an answer that is not the server's, such as a proxy's error page).
  ended(session, code) {
    if (this.session !== session) return;
    this.session = null;
    session.aborter.abort();
    // The server may not know yet (a lost poll): end it there too, or it lingers.
    if (code === null) this.forget(session);
    this.outgoing = [];
    this.acks.failAll(new Error("disconnected"));
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHENTICATED) {
      this.onUnauthenticated();
      return;
    }
    if (code === CLOSE_FORBIDDEN) {
      this.onForbidden();
      return;
    }
    this.onDown();
    if (this.stopped) return; // closed by onDown
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.backoff.delayAfter(code));
  }

  forget(session) {
    if (!session?.sid) return;
    fetch(session.url, {
      method: "DELETE",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      keepalive: true, // outlives the page
    }).catch(() => {}); // best effort: the server's idle limit ends it anyway
  }

  // One request of the session: {status, body, close}; status 0 when it did not
  // get a JSON answer (the network, a timeout, the session ended here, a proxy).
  async call(session, method, url, { body, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const aborter = new AbortController();
    const abort = () => aborter.abort();
    session.aborter.signal.addEventListener("abort", abort);
    const timer = setTimeout(abort, timeoutMs);
    const headers = { "X-CSRFToken": csrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(url, {
        method,
        body,
        headers,
        credentials: "same-origin",
        cache: "no-store",
        signal: aborter.signal,
      });
      const json = await response.json();
      const close = typeof json?.close === "number" ? json.close : null;
      if (response.status === 200 && !Array.isArray(json?.frames)) return { status: 0, body: null, close };
      return { status: response.status, body: json, close };
    } catch {
      return { status: 0, body: null, close: null };
    } finally {
      clearTimeout(timer);
      session.aborter.signal.removeEventListener("abort", abort);
    }
  }
}

// Django's CSRF token, which every POST and DELETE carries: the csrftoken cookie
// (CSRF_COOKIE_HTTPONLY is off), or the one rendered into the page's forms if the
// cookie cannot be read. Read at each request: logging in again elsewhere
// rotates it.
function csrfToken() {
  const prefix = "csrftoken=";
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(prefix));
  if (cookie) return decodeURIComponent(cookie.slice(prefix.length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}
