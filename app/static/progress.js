// Shows that a transaction is under way: a form's button is disabled (so it is not sent twice)
// and says what is happening until the next page, which reports the outcome, arrives.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (button && button.dataset.progress) {
    const status = document.createElement("p");
    status.className = "progress";
    status.setAttribute("role", "status");
    status.textContent = button.dataset.progress;
    button.after(status);
    // Disabled after this event, so the button's own name and value still go with the form.
    setTimeout(() => { button.disabled = true; }, 0);
  }
});

document.addEventListener("click", (event) => {
  if (event.target.matches("[data-back]")) {
    event.preventDefault();
    history.back();
  }
});
