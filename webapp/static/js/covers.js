// A cover that cannot load (offline installs, dead links) is replaced by the one the site draws for the book.
// Loaded in <head>, before any image: error events do not bubble, so one capturing listener sees them all.
document.addEventListener("error", function (event) {
  var img = event.target;
  if (img.tagName === "IMG" && img.dataset.fallback && img.getAttribute("src") !== img.dataset.fallback) {
    img.src = img.dataset.fallback;
  }
}, true);
