// Progressive enhancements of the cases pages (CSP: loaded from 'self', no inline code).
(function () {
  "use strict";
  // "Use my position" buttons fill the lon/lat inputs of their form from the device's location.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-geolocate]");
    if (!button || !navigator.geolocation) { return; }
    event.preventDefault();
    var form = button.closest("form");
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      form.querySelector(".geo-lon").value = position.coords.longitude.toFixed(6);
      form.querySelector(".geo-lat").value = position.coords.latitude.toFixed(6);
      button.disabled = false;
    }, function () { button.disabled = false; }, { enableHighAccuracy: true, timeout: 10000 });
  });
  // The bulk-assign "select all" box.
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-select-all]")) { return; }
    var boxes = document.querySelectorAll("input[name='" + event.target.dataset.selectAll + "']");
    boxes.forEach(function (box) { box.checked = event.target.checked; });
  });
})();
