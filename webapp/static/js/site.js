// Swap covers that cannot load (offline installs, dead links) for the local placeholder.
document.querySelectorAll("img.book-cover").forEach(function (img) {
  function usePlaceholder() {
    if (img.src !== img.dataset.placeholder) { img.src = img.dataset.placeholder; }
  }
  img.addEventListener("error", usePlaceholder);
  if (img.complete && img.naturalWidth === 0) { usePlaceholder(); }
});
