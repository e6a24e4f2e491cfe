// The page's elements, by the ids of docs/UI-CONTRACT.md.
export const $ = (id) => document.getElementById(id);
