// nftbot review page: choose a frame by click or keyboard, reject an artwork with a reason.
// Every state change is a POST with the token in the X-Review-Token header (never only the
// cookie); messages are put in the page as text, never as HTML.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="review-token"]');
  const token = meta ? meta.content : "";
  const status = document.getElementById("status");
  const section = document.getElementById("artwork");

  function say(message, kind) {
    if (!status) return;
    status.textContent = message;
    status.className = kind || "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Review-Token": token },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
    return data;
  }

  if (!section) return;
  const artworkId = section.dataset.artwork;
  const cards = Array.from(document.querySelectorAll("#frames .frame"));
  let selected = Math.max(0, cards.findIndex((c) => c.classList.contains("chosen")));

  function select(index) {
    if (!cards.length) return;
    selected = (index + cards.length) % cards.length;
    cards.forEach((card, i) => card.classList.toggle("selected", i === selected));
    cards[selected].focus({ preventScroll: false });
  }

  async function choose(iteration) {
    say("choosing #" + iteration + "…");
    try {
      const result = await post("/api/artworks/" + artworkId + "/choose", { iteration: Number(iteration) });
      cards.forEach((card) => {
        const mine = card.dataset.iteration === String(iteration);
        card.classList.toggle("chosen", mine);
      });
      let message = "chosen #" + result.iteration + " for artwork " + result.artwork_id;
      if (result.near_copy) message += " (warning: " + result.near_copy + ")";
      say(message, result.near_copy ? "warn" : "ok");
    } catch (error) {
      say("not chosen: " + error.message, "error");
    }
  }

  cards.forEach((card, index) => {
    card.addEventListener("click", () => select(index));
  });
  document.querySelectorAll("#frames button.choose").forEach((button) => {
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      choose(button.dataset.iteration);
    });
  });

  const form = document.getElementById("reject");
  const reason = document.getElementById("reject-reason");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const result = await post("/api/artworks/" + artworkId + "/reject", { reason: reason.value });
        say("artwork " + result.artwork_id + " is " + result.state, "ok");
      } catch (error) {
        say("not rejected: " + error.message, "error");
      }
    });
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement;
    if (typing) return;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") { select(selected + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") { select(selected - 1); event.preventDefault(); }
    else if (event.key === "Enter" && cards.length) { choose(cards[selected].dataset.iteration); event.preventDefault(); }
    else if (event.key === "r" && reason) { reason.focus(); event.preventDefault(); }
    else if (event.key === "n" && section.dataset.next) { window.location.href = section.dataset.next; }
  });

  select(selected);
})();
