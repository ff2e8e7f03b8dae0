// The call-taker's form: a click on one of the suggested type's subtypes (细类) chooses it in the
// category list. The list stays the one field sent; without this script the buttons do nothing and the
// list is used as before. The suggestion is loaded by htmx, so clicks are caught on the document.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-category]");
    if (!button) return;
    var select = document.getElementById("category-code");
    if (!select) return;
    select.value = button.dataset.category;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    select.focus();
  });
})();
