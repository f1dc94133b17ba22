// A copy button for shared links (the event sign-up link). Without JavaScript
// the link is still there, and one click selects all of it (CSS user-select: all).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy-target]")) {
    const target = document.getElementById(button.dataset.copyTarget);
    const status = document.getElementById(button.dataset.copyStatus);
    if (!target) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = target.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        if (status) status.textContent = button.dataset.copiedText;
      } catch {
        // No clipboard permission: select the link so Ctrl+C / ⌘C copies it.
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) status.textContent = button.dataset.selectedText;
      }
    });
  }
});
