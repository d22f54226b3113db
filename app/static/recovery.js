// The printed shares page: its print button (inline handlers are not allowed by the page's policy).
document.addEventListener("click", (event) => {
  if (event.target.matches("[data-print]")) {
    window.print();
  }
});
