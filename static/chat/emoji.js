// Emoji for reactions and messages: the picker's index from the server (fetched
// once per page), :shortcode: replacement, search, and the user's recent picks.
// Shortcodes resolve as on the server (chat/domain/emoji.py): aliases first, so
// :cat: is 🐱 (as on GitHub and Slack) though 🐈 is named "cat"; names are
// case-sensitive, as in the Python package.

const RECENT_KEY = "chat.emoji.recent";
const RECENT_MAX = 16;
// A name between colons: no spaces, colons or backticks, and not absurdly long.
const SHORTCODE_RE = /:([^\s:`]{1,80}):/g;
// What may not come just before one: it starts no word ("a:b:c") and no path
// ("std::x::y"), unless that colon closed the shortcode before (":+1::tada:").
const JOINED_RE = /[\p{L}\p{N}:]/u;
// Fenced blocks first, then inline spans; an unclosed backtick is plain text.
const CODE_RE = /```[\s\S]*?```|`[^`\n]+`/g;

let loading = null;

// The index, fetched once: from `url`, by default the data-emoji-url attribute of
// <body>. A failed fetch is forgotten, so that the next call tries again.
export function loadEmoji(url = document.body.dataset.emojiUrl) {
  if (!url) return Promise.reject(new Error("no emoji index URL (data-emoji-url on <body>)"));
  if (!loading) {
    loading = fetch(url, { credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error(`emoji index: HTTP ${response.status}`);
        return response.json();
      })
      .then(emojiIndex)
      .catch((error) => {
        loading = null;
        throw error;
      });
  }
  return loading;
}

// The server's JSON ({common: [char], emoji: [[char, name, "alias alias"]]}) as the
// functions below use it.
export function emojiIndex(json) {
  const all = json.emoji.map(([char, name, aliases]) => {
    const names = aliases ? [name, ...aliases.split(" ")] : [name];
    // What search matches: every name, lower case, and the words in them.
    const keys = names.map((key) => key.toLowerCase());
    const words = keys.flatMap((key) => key.split(/[_\-]/));
    return { char, name, aliases: names.slice(1), keys, words };
  });
  const byName = new Map();
  for (const entry of all) for (const alias of entry.aliases) if (!byName.has(alias)) byName.set(alias, entry.char);
  for (const entry of all) if (!byName.has(entry.name)) byName.set(entry.name, entry.char);
  const byChar = new Map(all.map((entry) => [entry.char, entry]));
  const common = json.common.map((char) => byChar.get(char)).filter(Boolean);
  return { all, common, byName, byChar };
}

// Whether `text` (what is typed before the caret) ends inside a code span or block
// still open: a shortcode typed there is code, not an emoji.
export function endsInOpenCode(text) {
  return text.replace(CODE_RE, "").includes("`");
}

// `text` with every :name: of a known emoji turned into it; unknown ones, and
// anything inside `code` or ```code blocks```, stay as written.
export function replaceShortcodes(text, index) {
  if (!text.includes(":")) return text;
  let out = "";
  let last = 0;
  for (const code of text.matchAll(CODE_RE)) {
    out += replaceOutsideCode(text.slice(last, code.index), index) + code[0];
    last = code.index + code[0].length;
  }
  return out + replaceOutsideCode(text.slice(last), index);
}

function replaceOutsideCode(text, index) {
  let out = "";
  let last = 0;
  const re = new RegExp(SHORTCODE_RE);
  for (let match = re.exec(text); match; match = re.exec(text)) {
    const starts = match.index === 0 || match.index === last || !JOINED_RE.test(text[match.index - 1]);
    const char = starts && index.byName.get(match[1]);
    if (char) {
      out += text.slice(last, match.index) + char;
      last = re.lastIndex;
    } else {
      // Its closing colon may open the next one: "10:30 :smile:".
      re.lastIndex = match.index + match[0].length - 1;
    }
  }
  return out + text.slice(last);
}

// Up to `limit` entries matching `query`, best first: a whole name, then a name
// that starts with it, then a word that does, then a name containing it; in the
// index's order within each. Colons and spaces in the query are ignored / joined.
export function searchEmoji(query, index, limit = 64) {
  const q = query.trim().toLowerCase().replace(/^:+|:+$/g, "").replace(/\s+/g, "_");
  if (!q) return [];
  const ranked = [[], [], [], []];
  for (const entry of index.all) {
    const rank = matchRank(entry, q);
    if (rank >= 0) ranked[rank].push(entry);
    if (ranked[0].length >= limit) break;
  }
  return ranked.flat().slice(0, limit);
}

function matchRank({ keys, words }, q) {
  if (keys.includes(q)) return 0;
  if (keys.some((key) => key.startsWith(q))) return 1;
  if (words.some((word) => word.startsWith(q))) return 2;
  if (keys.some((key) => key.includes(q))) return 3;
  return -1;
}

// The user's recent emoji, most recent first, in this browser. Storage may be
// unavailable (disabled, private windows) or hold anything: then there are none.
export function recentEmoji() {
  try {
    const stored = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(stored) ? stored.filter((e) => typeof e === "string" && e.length <= 32).slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

export function rememberEmoji(char) {
  const recent = [char, ...recentEmoji().filter((e) => e !== char)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {
    // Full or unavailable: the list is a convenience, nothing is lost.
  }
  return recent;
}
