/* exomir report: sortable, filterable tables with a CSV download, and SVG/PNG downloads of every
   figure. Plain JavaScript inside the page: nothing is fetched, the file works offline. */
(function () {
  "use strict";

  function rows(table) { return Array.prototype.slice.call(table.tBodies[0].rows); }

  // the value of a cell as the CSV tables hold it (numbers in full), else its text
  function value(cell) {
    var raw = cell.getAttribute("data-v");
    return raw === null ? cell.textContent.trim() : raw;
  }

  function compare(a, b) {
    if (a === "" || b === "") { return a === b ? 0 : (a === "" ? 1 : -1); }  // blanks last
    var x = Number(a), y = Number(b);
    if (!isNaN(x) && !isNaN(y)) { return x - y; }
    return a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }

  function csvField(text) {
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function download(name, type, content) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([content], {type: type}));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function setupTable(box) {
    var table = box.querySelector("table");
    var filter = box.querySelector("input[type=search]");
    var counter = box.querySelector(".count");
    var show = parseInt(box.getAttribute("data-show"), 10) || 50;
    var expanded = false;
    var more = document.createElement("button");
    more.type = "button";
    more.className = "more";
    box.querySelector(".tabletools").appendChild(more);

    function matching() {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      return rows(table).filter(function (row) {
        var text = row.textContent.toLowerCase();
        return words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    }

    function refresh() {
      var hits = matching();
      var limit = expanded || filter.value ? Infinity : show;
      rows(table).forEach(function (row) { row.hidden = true; });
      hits.forEach(function (row, i) { row.hidden = i >= limit; });
      var total = rows(table).length;
      counter.textContent = filter.value ? hits.length + " of " + total + " rows match" : "";
      more.hidden = filter.value !== "" || total <= show;
      more.textContent = expanded ? "Show the first " + show : "Show all " + total + " rows";
    }

    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var sorted = rows(table).map(function (row, i) { return [row, i]; });
        sorted.sort(function (p, q) {
          var order = compare(value(p[0].cells[column]), value(q[0].cells[column]));
          if (!ascending && value(p[0].cells[column]) !== "" && value(q[0].cells[column]) !== "") { order = -order; }
          return order || p[1] - q[1];  // stable
        });
        sorted.forEach(function (pair) { table.tBodies[0].appendChild(pair[0]); });
        refresh();
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) { if (event.key === "Enter") { sort(); } });
    });
    filter.addEventListener("input", refresh);
    more.addEventListener("click", function () { expanded = !expanded; refresh(); });
    box.querySelector("button.csv").addEventListener("click", function () {
      var header = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
        return csvField(th.getAttribute("data-col"));
      }).join(",");
      var lines = matching().map(function (row) {
        return Array.prototype.map.call(row.cells, function (cell) { return csvField(value(cell)); }).join(",");
      });
      download(box.getAttribute("data-name") + ".csv", "text/csv", [header].concat(lines).join("\n") + "\n");
    });
    refresh();
  }

  function setupFigure(div) {
    var name = div.id.replace(/^fig-/, "");
    var bar = document.createElement("div");
    bar.className = "figtools";
    ["svg", "png"].forEach(function (format) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Download " + format.toUpperCase();
      button.setAttribute("data-format", format);
      button.addEventListener("click", function () {
        var size = {format: format, filename: name, width: div.offsetWidth || 700, height: div.offsetHeight || 500};
        if (format === "png") { size.scale = 2; }
        window.Plotly.downloadImage(div, size);
      });
      bar.appendChild(button);
    });
    div.parentNode.insertBefore(bar, div.nextSibling);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".tablebox"), setupTable);
    Array.prototype.forEach.call(document.querySelectorAll(".plotly-graph-div"), setupFigure);
  });
})();
