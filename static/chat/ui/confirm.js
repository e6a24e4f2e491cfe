// A button that destroys something asks once more: the first press turns it into
// a question for a few seconds, and only a second press does it.
const ARMED_MS = 4000;

export function confirmThen(button, question, action) {
  if (button.dataset.armed) {
    clearTimeout(Number(button.dataset.armed));
    disarm(button);
    action();
    return;
  }
  button.dataset.label = button.textContent;
  button.textContent = question;
  button.classList.add("armed");
  button.dataset.armed = String(setTimeout(() => disarm(button), ARMED_MS));
}

function disarm(button) {
  delete button.dataset.armed;
  button.classList.remove("armed");
  button.textContent = button.dataset.label;
}
