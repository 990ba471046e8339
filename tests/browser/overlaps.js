// Pairs of text labels that overlap inside each chart of the statistics screen (ECharts' SVG renderer).
() => {
  const found = [];
  document.querySelectorAll("[data-chart]").forEach((chart) => {
    const boxes = [];
    chart.querySelectorAll("svg text").forEach((text) => {
      const style = getComputedStyle(text);
      const label = text.textContent.trim();
      if (!label || style.display === "none" || style.visibility === "hidden" || Number(style.opacity) === 0
          || Number(text.getAttribute("opacity") ?? 1) === 0) { return; }
      const box = text.getBoundingClientRect();
      if (box.width && box.height) { boxes.push({ label, box }); }
    });
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) {
        const a = boxes[i].box, b = boxes[j].box;
        const overlapX = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const overlapY = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (overlapX > 1 && overlapY > 1) {
          found.push(`${chart.dataset.chart}: "${boxes[i].label}" overlaps "${boxes[j].label}"`);
        }
      }
    }
  });
  return found;
}
