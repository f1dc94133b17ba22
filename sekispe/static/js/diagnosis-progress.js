// The diagnosis's "N of 25 answered", kept current as answers are clicked.
// Without JavaScript the server's count stands (after a submit with errors);
// the sentence comes from the page (data-template), so it is already translated.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-diagnosis-progress]");
  if (!box) return;
  const form = box.closest("form");
  const text = box.querySelector("[data-progress-text]");
  const bar = box.querySelector("progress");
  const template = box.dataset.template;
  if (!form || !text || !template) return;
  const update = () => {
    // One checked radio per answered question; the company selects are not counted.
    const answered = form.querySelectorAll("fieldset.question input[type=radio]:checked").length;
    const sentence = template.replace("{n}", String(answered));
    // Only a real change is written, so the live region speaks once per answer.
    if (text.textContent !== sentence) text.textContent = sentence;
    if (bar) bar.value = answered;
  };
  form.addEventListener("change", (event) => {
    if (event.target.matches("fieldset.question input[type=radio]")) update();
  });
});
