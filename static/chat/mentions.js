// Mentions in a message: which it names (the server's `mentions`: usernames,
// and "@room" or "@here"), shown as chips in its already-rebuilt body. Only the
// names the server found become chips, and only in text: code, code blocks and
// links keep theirs as written. No HTML is parsed here: text nodes are split.

const SPECIAL = new Set(["@room", "@here"]);
const SKIPPED = new Set(["CODE", "PRE", "A"]);
const NAME_CHAR = "[\\p{L}\\p{N}_]";

const sameName = (a, b) => a.toLowerCase() === b.toLowerCase();

// Whether message `m` names `me`: @me, @room, or @here (which reaches those
// online, as whoever reads a live message is).
export function mentionsMe(m, me) {
  const names = m.mentions || [];
  return names.some((name) => SPECIAL.has(name) || sameName(name, me));
}

// The body's `@name` for each name of `mentions` as a `span.mention` (with
// `mention-me` for me, @room and @here); whether it made any.
export function markMentions(body, mentions, me) {
  if (!mentions?.length) return false;
  const names = mentions.map((name) => (SPECIAL.has(name) ? name.slice(1) : name));
  const pattern = mentionPattern(names);
  const texts = [];
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (insideSkipped(node, body) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  while (walker.nextNode()) texts.push(walker.currentNode);
  let made = false;
  for (const text of texts) made = chipText(text, pattern, mentions, me) || made;
  return made;
}

// `@` and one of the names, not inside a longer word or address (a letter or
// `@` before it; a name character, `+`, `-`, or `.` or `@` going on into one,
// after it: `@ann.lee` is not `@ann`).
function mentionPattern(names) {
  const alternatives = [...new Set(names)].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|");
  return new RegExp(`(?<![\\p{L}\\p{N}_@])@(${alternatives})(?!${NAME_CHAR}|[+\\-]|[.@]${NAME_CHAR})`, "giu");
}

function chipText(text, pattern, mentions, me) {
  const value = text.data;
  pattern.lastIndex = 0;
  if (!pattern.test(value)) return false;
  pattern.lastIndex = 0;
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of value.matchAll(pattern)) {
    fragment.append(value.slice(last, match.index));
    fragment.append(chip(match[0], canonical(match[1], mentions), me));
    last = match.index + match[0].length;
  }
  fragment.append(value.slice(last));
  text.replaceWith(fragment);
  return true;
}

// The name as the server listed it: "@room" for `@room`, "Ann" for `@ann`.
function canonical(found, mentions) {
  const special = `@${found.toLowerCase()}`;
  if (mentions.includes(special)) return special;
  return mentions.find((name) => sameName(name, found)) || found;
}

function chip(shown, name, me) {
  const span = document.createElement("span");
  const special = SPECIAL.has(name);
  span.className = special || sameName(name, me) ? "mention mention-me" : "mention";
  span.dataset.mention = name;
  span.textContent = shown;
  return span;
}

function insideSkipped(node, root) {
  for (let parent = node.parentNode; parent && parent !== root; parent = parent.parentNode) {
    if (SKIPPED.has(parent.nodeName) || parent.classList?.contains("mention")) return true;
  }
  return false;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
