// The notification settings page (templates/chat/settings.html). The form takes
// the browser's time zone, so that do-not-disturb "until tomorrow, 9:00" and a
// chosen time are the user's own; times are shown in it; typing a time picks
// "Until…". Without this script the page still works, in UTC.
const zone = document.getElementById("id_time_zone");
if (zone) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";

const shown = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});
for (const time of document.querySelectorAll("time[data-local]")) {
  time.textContent = shown.format(new Date(time.dateTime));
}

const custom = document.getElementById("id_dnd_custom");
const untilChoice = document.querySelector("input[name=dnd][value=custom]");
if (custom && untilChoice) {
  custom.addEventListener("input", () => { untilChoice.checked = true; });
  // The earliest time offered: now, as a datetime-local input writes it.
  const now = new Date();
  now.setSeconds(0, 0);
  custom.min = new Date(now - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
