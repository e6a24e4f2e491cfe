// The tab's icon with a dot when something waits (unread messages or mentions):
// static/chat/favicon.svg drawn on a canvas with a red badge, set as a data:
// URL (the CSP allows data: images); the plain icon otherwise.

const SIZE = 64; // drawn at 64 px, sharp at 16 and 32
const link = document.querySelector("link[rel~='icon']");
const plainHref = link?.href || "";
let image = null; // the plain icon, once loaded
let badgedHref = null;
let wanted = false;

// The icon without its badge (for a notification's icon).
export const plainIcon = () => plainHref;

export function showFaviconBadge(on) {
  wanted = on;
  if (!link) return;
  if (!on) {
    if (link.href !== plainHref) link.href = plainHref;
    return;
  }
  if (badgedHref) {
    link.href = badgedHref;
    return;
  }
  if (image) return; // loading: drawn when it has
  image = new Image();
  image.onload = () => {
    badgedHref = drawBadged(image);
    if (wanted && badgedHref) link.href = badgedHref;
  };
  image.src = plainHref;
}

function drawBadged(icon) {
  const canvas = document.createElement("canvas");
  canvas.width = SIZE;
  canvas.height = SIZE;
  const context = canvas.getContext("2d");
  if (!context) return null;
  context.drawImage(icon, 0, 0, SIZE, SIZE);
  context.beginPath();
  context.arc(SIZE * 0.76, SIZE * 0.24, SIZE * 0.22, 0, 2 * Math.PI);
  context.fillStyle = "#e0245e"; // the unread badge's colour (chat.css .badge)
  context.fill();
  context.lineWidth = SIZE * 0.06;
  context.strokeStyle = "#ffffff";
  context.stroke();
  return canvas.toDataURL("image/png");
}
