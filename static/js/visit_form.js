// The visit form: fill the GPS fix from the device (R32 checks it against the household).
(function () {
  "use strict";
  const button = document.getElementById("locate");
  if (!button || !navigator.geolocation) { if (button) button.hidden = true; return; }
  button.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition((position) => {
      document.getElementById("lon").value = position.coords.longitude.toFixed(6);
      document.getElementById("lat").value = position.coords.latitude.toFixed(6);
    }, () => { button.disabled = true; }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();
