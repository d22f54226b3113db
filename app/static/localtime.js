// Times in the user's time zone. The server writes every time as <time datetime="…Z"> with UTC
// text, readable without JavaScript; this rewrites them in the browser's zone, or in the zone
// chosen at the foot of the page, which this browser remembers (localStorage: the server keeps
// nothing). Forms with a date or time field say which zone it was typed in.
(() => {
  const STORAGE_KEY = "carechain.timeZone";
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  function isZone(name) {
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: name });
      return true;
    } catch {
      return false;
    }
  }

  // Storage can be switched off (some private windows): the browser's zone is shown then.
  function storedZone() {
    try {
      const name = localStorage.getItem(STORAGE_KEY);
      return name && isZone(name) ? name : null;
    } catch {
      return null;
    }
  }

  function remember(name) {
    try {
      if (name) localStorage.setItem(STORAGE_KEY, name);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Not remembered, but still shown on this page.
    }
  }

  // "23 Nov 2026, 15:05 CET", the server's layout. The zone goes by the abbreviation British or
  // American English has for it (CET, BST, EST), else by its IANA name, not as a bare "GMT+9".
  function timeFormat(zone) {
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, day: "2-digit", month: "short",
      year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const names = ["en-GB", "en-US"].map((locale) =>
      new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" }));
    return (date) => {
      const part = Object.fromEntries(parts.formatToParts(date).map(({ type, value }) => [type, value]));
      const abbreviations = names.map((format) =>
        format.formatToParts(date).find(({ type }) => type === "timeZoneName").value);
      const name = abbreviations.find((abbreviation) => !/^GMT[+\-\u2212]/.test(abbreviation)) || zone;
      return `${part.day} ${part.month} ${part.year}, ${part.hour}:${part.minute} ${name}`;
    };
  }

  function showTimes(zone) {
    const inZone = timeFormat(zone);
    const inUtc = timeFormat("UTC");
    for (const element of document.querySelectorAll("time[datetime]")) {
      const date = new Date(element.dateTime);
      if (Number.isNaN(date.getTime())) continue;
      element.textContent = inZone(date);
      element.title = inUtc(date);
    }
  }

  // The server reads a date or time typed into a form in the zone of the form's hidden
  // "<prefix>time_zone" field (the prefix of the form's own fields, e.g. "vitals-"); UTC without it.
  function stampForms(zone) {
    for (const input of document.querySelectorAll("input[type=date], input[type=datetime-local]")) {
      if (!input.form) continue;
      const name = input.name.slice(0, input.name.lastIndexOf("-") + 1) + "time_zone";
      let field = input.form.elements.namedItem(name);
      if (!field) {
        field = Object.assign(document.createElement("input"), { type: "hidden", name });
        input.form.append(field);
      }
      field.value = zone;
    }
  }

  function show() {
    const zone = storedZone() || browserZone;
    showTimes(zone);
    stampForms(zone);
  }

  function setUpChoice(select) {
    const zones = new Set(["UTC", ...(Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [])]);
    const stored = storedZone();
    if (stored) zones.add(stored);
    select.append(new Option(`Automatic (${browserZone.replaceAll("_", " ")})`, ""),
      ...[...zones].map((zone) => new Option(zone.replaceAll("_", " "), zone)));
    select.value = stored || "";
    select.addEventListener("change", () => {
      remember(select.value);
      show();
    });
    // Chosen in another tab: this one follows, so its forms stamp the zone its times are shown in.
    window.addEventListener("storage", (event) => {
      if (event.key !== STORAGE_KEY && event.key !== null) return;
      select.value = storedZone() || "";
      show();
    });
    select.closest(".time-zone").hidden = false;
  }

  show();
  const select = document.getElementById("time-zone");
  if (select) setUpChoice(select);
})();
